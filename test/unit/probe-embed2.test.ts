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
const every = (name: string, run: () => unknown = () => {}) => ({ name, schedule: '* * * * *', run })
async function code(p: Promise<unknown> | (() => unknown)) {
  try {
    typeof p === 'function' ? await p() : await p
    return 'ok'
  } catch (e) {
    return isCronsError(e) ? e.code : String(e)
  }
}

describe('probe embed 2', () => {
  it('stop() during start(): no started after stopped, no timer', async () => {
    const clock = new FakeClock(T0)
    const s = track(createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [every('a')] }, { clock }))
    const seen: string[] = []
    s.events.on('started', () => seen.push('started'))
    s.events.on('stopped', () => seen.push('stopped'))
    const started = s.start()
    const stopped = s.stop()
    await Promise.allSettled([started, stopped])
    expect(seen).toEqual(['stopped'])
    expect(clock.pending).toBe(0)
  })

  it('add() during start(): the job runs once a minute', async () => {
    const clock = new FakeClock(T0)
    let n = 0
    const s = track(createScheduler({ state: ':memory:', timezone: 'UTC' }, { clock }))
    const started = s.start()
    const added = s.add(every('a', () => void n++))
    await Promise.all([started, added])
    await clock.advance(180_000)
    expect(n).toBe(3)
  })

  it('remove() during start(): the job does not run', async () => {
    const clock = new FakeClock(T0)
    let n = 0
    const s = track(createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [every('a', () => void n++)] }, { clock }))
    const started = s.start()
    await flushCallbacks(1)
    s.remove('a')
    await started
    await clock.advance(180_000)
    expect(n).toBe(0)
    expect(s.list()).toEqual([])
    expect(s.nextRuns()).toEqual([])
  })

  it('stop() called while a started job awaits: stop with grace waits, job succeeds', async () => {
    const clock = new FakeClock(T0)
    const s = track(
      createScheduler(
        {
          state: ':memory:',
          timezone: 'UTC',
          jobs: [every('a', () => new Promise((r) => clock.setTimeout(() => r('x'), 5_000)))],
        },
        { clock },
      ),
    )
    await s.start()
    await clock.advance(60_000)
    const stopping = s.stop({ graceMs: 10_000 })
    await clock.advance(6_000)
    await stopping
    expect(clock.pending).toBe(0)
  })

  it('runJob of an unknown job: JOB_UNKNOWN; disabled: JOB_DISABLED; forced disabled runs', async () => {
    const clock = new FakeClock(T0)
    const s = track(
      createScheduler(
        { state: ':memory:', timezone: 'UTC', jobs: [every('a'), { ...every('d', () => 7), enabled: false }] },
        { clock },
      ),
    )
    expect(await code(s.runJob('zz'))).toBe('JOB_UNKNOWN')
    expect(await code(s.runJob('d'))).toBe('JOB_DISABLED')
    const r = await s.runJob('d', { force: true })
    expect(r).toMatchObject({ status: 'succeeded', attempts: 1 })
    expect(s.list().map((j) => j.name)).toEqual(['a'])
    expect(s.nextRuns().map((j) => j.job)).toEqual(['a'])
  })

  it('runs({ since, status, limit }) filters; oldest first', async () => {
    const clock = new FakeClock(T0)
    let i = 0
    const s = track(
      createScheduler(
        {
          state: ':memory:',
          timezone: 'UTC',
          jobs: [
            every('a', () => {
              if (++i % 2 === 0) throw new Error('even')
            }),
          ],
        },
        { clock },
      ),
    )
    await s.start()
    await clock.advance(6 * 60_000)
    const all = await s.runs()
    expect(all.map((r) => r.slot)).toEqual([...all.map((r) => r.slot)].sort())
    expect(all.length).toBe(6)
    expect((await s.runs({ status: 'failed' })).length).toBe(3)
    expect((await s.runs({ limit: 2 })).map((r) => r.slot)).toEqual(all.slice(-2).map((r) => r.slot))
    expect((await s.runs({ since: new Date(T0 + 4 * 60_000) })).length).toBe(3)
    expect((await s.runs({ job: 'a', limit: 1 })).length).toBe(1)
  })

  it('config:reloaded payload equals the resolved value', async () => {
    const clock = new FakeClock(T0)
    const s = track(createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [every('a')] }, { clock }))
    await s.start()
    const heard: unknown[] = []
    s.events.on('config:reloaded', (e) => heard.push(e))
    const r = await s.reload({ jobs: [every('a'), every('b')], timezone: 'UTC' })
    expect(heard).toEqual([r])
    expect(r).toMatchObject({ added: ['b'], unchanged: 1 })
  })

  it('cancel() of own running run from outside: cancelled; hooks afterRun final', async () => {
    const clock = new FakeClock(T0)
    const after: unknown[] = []
    const s = track(
      createScheduler(
        {
          state: ':memory:',
          timezone: 'UTC',
          jobs: [
            {
              ...every('a', () => new Promise(() => {})),
              retry: { max: 2 },
              hooks: { afterRun: (ctx) => void after.push([ctx.status, ctx.final, ctx.willRetry]) },
            },
          ],
        },
        { clock },
      ),
    )
    await s.start()
    await clock.advance(60_000)
    const [run] = await s.runs({ status: 'running' })
    const res = await s.cancel(run!.id, { reason: 'enough' })
    expect(res.status).toBe('cancelled')
    await flushCallbacks()
    expect(after).toEqual([['cancelled', true, false]])
  })

  it('a job that awaits stop() (inside its run) does not deadlock the stop past grace', async () => {
    const clock = new FakeClock(T0)
    let resolved = false
    const s: Scheduler = track(
      createScheduler(
        {
          state: ':memory:',
          timezone: 'UTC',
          shutdownGrace: '5s',
          jobs: [
            every('a', async () => {
              await s.stop()
              resolved = true
            }),
          ],
        },
        { clock },
      ),
    )
    await s.start()
    await clock.advance(60_000)
    await clock.advance(6_000)
    await flushCallbacks()
    const runs = await code(s.runs())
    expect(runs).toBe('SCHEDULER_STOPPED')
    expect(clock.pending).toBe(0)
    void resolved
  })
})
