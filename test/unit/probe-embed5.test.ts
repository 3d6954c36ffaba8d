import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock, flushCallbacks } from '../../src/core/clock.js'
import { createScheduler, isCronsError, type Scheduler } from '../../src/index.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})
function track(s: Scheduler) {
  cleanups.push(() => s.stop({ graceMs: 0 }).catch(() => undefined))
  return s
}
const tmpState = () => path.join(fs.mkdtempSync(path.join(tmpdir(), 'p7-')), 'c.db')
async function code(p: Promise<unknown>) {
  try {
    await p
    return 'ok'
  } catch (e) {
    return isCronsError(e) ? e.code : String(e)
  }
}

describe('probe embed 5', () => {
  it('a cancel waiting on another process ends CANCEL_PENDING when this scheduler stops; no timer left', async () => {
    const file = tmpState()
    const clockA = new FakeClock(T0)
    const clockB = new FakeClock(T0 + 60_000)
    const jobs = [{ name: 'long', schedule: '* * * * *', run: () => new Promise(() => {}) }]
    const a = track(createScheduler({ state: file, timezone: 'UTC', jobs }, { clock: clockA }))
    await a.start()
    await clockA.advance(60_000)
    const [running] = await a.runs({ status: 'running' })
    const b = track(createScheduler({ state: file, timezone: 'UTC', jobs: [] }, { clock: clockB }))
    const cancelling = code(b.cancel(running!.id, { waitMs: 60_000 }))
    await flushCallbacks()
    await clockB.advance(1_000)
    const stopping = b.stop()
    await clockB.advance(1_000)
    expect(await cancelling).toBe('CANCEL_PENDING')
    await stopping
    expect(clockB.pending).toBe(0)
  })

  it('runJob timeoutMs applies: a job longer than it times out', async () => {
    const clock = new FakeClock(T0)
    const s = track(
      createScheduler(
        {
          state: ':memory:',
          timezone: 'UTC',
          jobs: [{ name: 'a', schedule: '0 0 1 1 *', run: () => new Promise((r) => clock.setTimeout(r, 10_000)) }],
        },
        { clock },
      ),
    )
    const p = s.runJob('a', { timeoutMs: 1_000 })
    await flushCallbacks()
    await clock.advance(2_000)
    expect(await p).toMatchObject({ status: 'timed_out' })
  })

  it('runJob with an invalid timeoutMs is refused (not a silent never-timeout / instant timeout)', async () => {
    const clock = new FakeClock(T0)
    const s = track(
      createScheduler(
        { state: ':memory:', timezone: 'UTC', jobs: [{ name: 'a', schedule: '0 0 1 1 *', run: () => 1 }] },
        { clock },
      ),
    )
    const r = await s.runJob('a', { timeoutMs: -5 }).then(
      (x) => x.status,
      (e) => (isCronsError(e) ? e.code : String(e)),
    )
    expect(['succeeded', 'CONFIG_INVALID', 'FLAG_INVALID']).toContain(r)
  })

  it('a second stop() cuts the grace: a job that never ends is interrupted at once', async () => {
    const clock = new FakeClock(T0)
    const s = track(
      createScheduler(
        { state: ':memory:', timezone: 'UTC', jobs: [{ name: 'a', schedule: '* * * * *', run: () => new Promise(() => {}) }] },
        { clock },
      ),
    )
    await s.start()
    await clock.advance(60_000)
    const statuses: string[] = []
    s.events.on('run:finished', (e) => statuses.push(e.status))
    const first = s.stop()
    await flushCallbacks()
    await s.stop()
    await first
    expect(statuses).toEqual(['interrupted'])
    expect(clock.pending).toBe(0)
  })
})
