/** Failing today: add() of a started scheduler (src/core/scheduler.ts add(), ClaimLoop.serve). */
import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock } from '../../src/core/clock.js'
import { createScheduler, type Scheduler } from '../../src/index.js'
import { openStore } from '../../src/store/index.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})
function track(s: Scheduler) {
  cleanups.push(() => s.stop({ graceMs: 0 }).catch(() => undefined))
  return s
}

describe('add() replacing a job with a new schedule', () => {
  it('records no missed slots for the new schedule before the add (as reload() does)', async () => {
    const clock = new FakeClock(T0)
    const s = track(
      createScheduler(
        { state: ':memory:', timezone: 'UTC', jobs: [{ name: 'a', schedule: '0 0 * * *', run: () => 1 }] },
        { clock },
      ),
    )
    await s.start()
    await clock.advanceTo(T0 + 10 * 3600_000 + 30 * 60_000) // 10:30, the daily job has not run yet
    await s.add({ name: 'a', schedule: '0 * * * *', run: () => 2 }) // now hourly
    await clock.advance(30 * 60_000) // to 11:00
    expect((await s.runs()).map((r) => [r.status, r.slot])).toEqual([['succeeded', '2026-01-01T11:00:00.000Z']])
  })

  it('with catchUp: runs no catch-up for slots the new schedule never had', async () => {
    const clock = new FakeClock(T0)
    const heard: unknown[] = []
    const s = track(
      createScheduler(
        { state: ':memory:', timezone: 'UTC', jobs: [{ name: 'a', schedule: '0 0 * * *', run: () => 1 }] },
        { clock },
      ),
    )
    await s.start()
    await clock.advanceTo(T0 + 10 * 3600_000 + 30 * 60_000) // 10:30
    await s.add({
      name: 'a',
      schedule: '0 * * * *',
      catchUp: true,
      run: (ctx) => void heard.push([ctx.trigger, ctx.missed?.count]),
    })
    await clock.advance(1)
    expect(heard).toEqual([])
  })

  it('remove(), an hour, add() back: no missed record for the hour it was removed (reload() records none)', async () => {
    const clock = new FakeClock(T0)
    const every = { name: 'a', schedule: '* * * * *', run: () => {} }
    const s = track(createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [every] }, { clock }))
    await s.start()
    await clock.advance(60_000)
    s.remove('a')
    await clock.advance(3600_000)
    await s.add({ ...every })
    await clock.advance(60_000)
    expect((await s.runs({ limit: 100 })).map((r) => r.status)).toEqual(['succeeded', 'succeeded'])
  })
})

describe('add() that meets a store error', () => {
  it('does not leave the job (listed, with a next run) unscheduled for good', async () => {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    let calls = 0
    const s = createScheduler(
      { state: ':memory:', timezone: 'UTC', jobs: [{ name: 'a', schedule: '* * * * *', run: () => void calls++ }] },
      { clock, store },
    )
    cleanups.push(async () => {
      await s.stop({ graceMs: 0 }).catch(() => undefined)
      await store.close()
    })
    await s.start()
    await clock.advance(60_000)
    expect(calls).toBe(1)
    const real = store.listJobs.bind(store)
    store.listJobs = async () => {
      store.listJobs = real // one failed read: a connection reset
      throw new Error('connection reset')
    }
    await expect(s.add({ name: 'a', schedule: '* * * * *', run: () => void calls++ })).rejects.toThrow('connection reset')
    expect(s.list().map((j) => j.name)).toEqual(['a'])
    expect(s.nextRuns()).toEqual([{ job: 'a', nextRun: '2026-01-01T00:02:00.000Z' }])
    await clock.advance(5 * 60_000)
    expect(calls).toBeGreaterThan(1) // today: 1, the job never runs again
  })
})
