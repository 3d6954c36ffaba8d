/**
 * A process frozen in the middle of a transaction (a paused VM, SIGSTOP, an event loop blocked by a
 * job) must not hold its locks until it wakes: the server ends the transaction, a peer claims the
 * slot, and the frozen claim, once awake, fails instead of committing a run nobody may finish.
 */
import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { openStore } from '../../src/store/index.js'
import type { SlotClaim, Store } from '../../src/store/types.js'
import { freshSchema, stateUrl } from '../postgres/schemas.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const query = pg.Client.prototype.query
const opened: Store[] = []

afterEach(async () => {
  pg.Client.prototype.query = query
  for (const store of opened.splice(0)) await store.close().catch(() => undefined)
})

/** The next statement inserting slot keys completes, then its client goes quiet until `wake()`. */
function freezeAfterSlotKeys(): { frozen: Promise<void>; wake: () => void } {
  let wake = () => {}
  let announce = () => {}
  const frozen = new Promise<void>((resolve) => {
    announce = resolve
  })
  let armed = true
  pg.Client.prototype.query = function watched(this: pg.Client, ...args: unknown[]) {
    const result = (query as (...a: unknown[]) => unknown).apply(this, args)
    const text = typeof args[0] === 'string' ? args[0] : ''
    if (!armed || !text.includes('.slot_claims') || !text.trimStart().startsWith('INSERT')) return result
    armed = false
    return (result as Promise<unknown>).then(
      (value) =>
        new Promise((resolve) => {
          wake = () => resolve(value)
          announce()
        }),
    )
  } as typeof pg.Client.prototype.query
  return { frozen, wake: () => wake() }
}

describe('postgres: a process frozen in a transaction', () => {
  it('the server ends the transaction: a peer claims the slot, and the frozen claim fails on waking', async () => {
    const url = stateUrl(freshSchema())
    const a = await openStore(url)
    const b = await openStore(url)
    opened.push(a, b)
    const claim: SlotClaim = { job: 'tick', slot: T0, trigger: 'schedule', overlap: 'skip' }
    const { frozen, wake } = freezeAfterSlotKeys()
    const frozenClaim = a.claimSlots([claim], 'A', T0)
    frozenClaim.catch(() => undefined)
    await frozen
    // The peer's insert of the same key waits for the frozen transaction, until the server ends it.
    expect(await b.claimSlots([claim], 'B', T0)).toEqual([{ kind: 'started', runId: expect.any(Number) }])
    wake()
    // The reason, in one line; and no 'error' event left unheard (the test run would report it).
    await expect(frozenClaim).rejects.toThrow(/idle-in-transaction timeout/)
    const runs = await b.listRuns({ job: 'tick' })
    expect(runs.map((r) => [r.instanceId, r.status])).toEqual([['B', 'running']])
  })
})
