/**
 * Losing the database under running schedulers (SEMANTICS §9): every connection dropped and new ones
 * refused for two minutes, through a TCP proxy (test/postgres/proxy.ts), then let through again. No
 * scheduler stops; each says once that the state is out of reach and once that it is back; an outcome
 * that could not be written meanwhile is written once it can; the slots of the outage are recorded
 * missed per the misfire rules; nothing recorded before is lost. Injected clocks: no test sleeps.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { accountedSlots, allRuns, expectRecoveredTogether, heldJob, slotsBetween, World } from '../postgres/hosts.js'
import { TcpProxy } from '../postgres/proxy.js'
import { freshSchema, stateUrl } from '../postgres/schemas.js'

const T0 = Date.parse('2026-01-05T00:00:00Z')
const cleanups: (() => Promise<void>)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('the database going away', () => {
  it('two schedulers survive two minutes without it: one line each way, the outage recorded missed, nothing lost', async () => {
    const proxy = await TcpProxy.to(stateUrl('unused'))
    cleanups.push(() => proxy.close())
    const url = proxy.through(stateUrl(freshSchema()))
    const w = new World(T0)
    cleanups.push(() => w.stop())

    const long = heldJob('long', T0 + 25_000)
    const tens = { name: 'tens', schedule: '*/10 * * * * *', run: () => 'ok' }
    const a = await w.start('a', url, [tens, long.job])
    // A second later: their heartbeats come at different instants, so that after the outage one
    // host looks at the other's stale heartbeat before that one could renew it.
    await w.run(T0 + 1_000)
    const b = await w.start('b', url, [tens])
    await w.run(T0 + 30_000)
    const before = await allRuns(a.store)

    proxy.cut()
    // The job ends while the database is away: its outcome cannot be written yet.
    long.finish('done in the dark')
    await w.run(T0 + 150_000)
    expect(proxy.refused).toBeGreaterThan(0)
    proxy.restore()
    await w.run(T0 + 240_000)

    await expectRecoveredTogether([a, b])

    const runs = await allRuns(a.store)
    // Nothing recorded before the cut is lost or changed (but the run in flight, now finished).
    for (const row of before.filter((r) => r.job !== 'long')) expect(runs).toContainEqual(row)
    expect(runs.find((r) => r.job === 'long')).toMatchObject({ status: 'succeeded', result: '"done in the dark"' })
    // Every slot accounted for exactly once: run, or within one missed record of the outage.
    expect(accountedSlots(runs, 'tens', 10_000)).toEqual(slotsBetween(T0, T0 + 240_000, 10_000))
    const missed = runs.filter((r) => r.status === 'missed')
    expect(missed).toHaveLength(1)
    expect(runs.filter((r) => !['succeeded', 'missed'].includes(r.status))).toEqual([])
  })
})
