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
const every = (name: string, run: () => unknown = () => {}) => ({ name, schedule: '* * * * *', run })

describe('probe embed', () => {
  it('a job calling void stop() is recorded succeeded; stop resolves', async () => {
    const clock = new FakeClock(T0)
    let stopped: Promise<void> | undefined
    const s: Scheduler = track(
      createScheduler(
        {
          state: ':memory:',
          timezone: 'UTC',
          jobs: [
            every('a', () => {
              stopped = s.stop()
              return 'bye'
            }),
          ],
        },
        { clock },
      ),
    )
    const events: string[] = []
    s.events.on('stopped', () => events.push('stopped'))
    await s.start()
    await clock.advance(60_000)
    await flushCallbacks()
    await stopped
    expect(events).toEqual(['stopped'])
    expect(clock.pending).toBe(0)
    const store = await import('../../src/store/index.js')
    void store
  })

  it('afterRun hook calling void stop(): attempt succeeded, stop resolves, no timer left', async () => {
    const clock = new FakeClock(T0)
    let stopped: Promise<void> | undefined
    const file = path.join(fs.mkdtempSync(path.join(tmpdir(), 'p7-')), 'c.db')
    const s: Scheduler = createScheduler(
      {
        state: file,
        timezone: 'UTC',
        jobs: [
          {
            ...every('a', () => 'r'),
            hooks: {
              afterRun: () => {
                stopped = s.stop()
              },
            },
          },
        ],
      },
      { clock },
    )
    await s.start()
    await clock.advance(60_000)
    await flushCallbacks()
    expect(stopped).toBeDefined()
    await stopped
    expect(clock.pending).toBe(0)
    const s2 = track(createScheduler({ state: file, timezone: 'UTC' }, { clock }))
    const runs = await s2.runs()
    expect(runs.map((r) => r.status)).toEqual(['succeeded'])
  })

  it('a job calling runJob on itself gets JOB_RUNNING', async () => {
    const clock = new FakeClock(T0)
    const s: Scheduler = track(
      createScheduler(
        {
          state: ':memory:',
          timezone: 'UTC',
          jobs: [
            every('a', async () => {
              try {
                await s.runJob('a')
                return 'ran'
              } catch (e) {
                return isCronsError(e) ? e.code : String(e)
              }
            }),
          ],
        },
        { clock },
      ),
    )
    await s.start()
    await clock.advance(60_000)
    await flushCallbacks()
    const runs = await s.runs()
    expect(runs.map((r) => [r.status, r.trigger])).toEqual([['succeeded', 'schedule']])
    expect((await s.run(runs[0]!.id))?.result).toBe('JOB_RUNNING')
  })

  it('two schedulers on one state file: each slot once', async () => {
    const clock = new FakeClock(T0)
    const file = path.join(fs.mkdtempSync(path.join(tmpdir(), 'p7-')), 'c.db')
    const mk = () =>
      track(
        createScheduler(
          { state: file, timezone: 'UTC', jobs: [{ name: 'a', schedule: '* * * * * *', run: () => 1 }] },
          { clock },
        ),
      )
    const a = mk()
    const b = mk()
    await Promise.all([a.start(), b.start()])
    for (let i = 0; i < 10; i++) await clock.advance(1000)
    await a.stop({ graceMs: 0 })
    await b.stop({ graceMs: 0 })
    const c = mk()
    const runs = await c.runs({ limit: 100 })
    const slots = runs.map((r) => r.slot)
    expect(new Set(slots).size).toBe(slots.length)
    expect(runs.every((r) => r.status === 'succeeded')).toBe(true)
    expect(slots.length).toBe(10)
  })

  it('reload renaming a job, and a reload changing only hooks', async () => {
    const clock = new FakeClock(T0)
    const heard: string[] = []
    const s = track(createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [every('a')] }, { clock }))
    await s.start()
    const r1 = await s.reload({ timezone: 'UTC', jobs: [every('b')] })
    expect(r1).toEqual({ added: ['b'], removed: ['a'], changed: [], unchanged: 0, notApplied: [], configHash: null })
    const r2 = await s.reload({
      timezone: 'UTC',
      jobs: [{ ...every('b'), hooks: { afterRun: (ctx) => void heard.push(`${ctx.job.name}`) } }],
    })
    expect(r2).toMatchObject({ added: [], removed: [], changed: ['b'], unchanged: 0 })
    await clock.advance(60_000)
    await flushCallbacks()
    expect((await s.runs()).map((r) => [r.job, r.status])).toEqual([['b', 'succeeded']])
    expect(heard).toEqual(['b'])
  })

  it('listeners added after start hear the events; pause shape', async () => {
    const clock = new FakeClock(T0)
    const s = track(createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [every('a', () => 5)] }, { clock }))
    await s.start()
    const seen: unknown[] = []
    s.events.on('run:finished', (e) => seen.push(e))
    await clock.advance(60_000)
    expect(seen).toMatchObject([{ job: 'a', status: 'succeeded', attempt: 1, trigger: 'schedule', initiator: 'scheduler' }])
    const p = await s.pause('a')
    expect(Object.keys(p).sort()).toEqual(['changed', 'job', 'paused', 'pausedAt'])
    const skipped: unknown[] = []
    s.events.on('slot:skipped', (e) => skipped.push(e))
    await clock.advance(60_000)
    expect(skipped).toMatchObject([{ job: 'a', reason: expect.any(String) }])
  })

  it('remove() during a running job lets it finish, and add() back with the same name in the same minute does not rerun the slot', async () => {
    const clock = new FakeClock(T0)
    let calls = 0
    const s = track(
      createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [every('a', () => void calls++)] }, { clock }),
    )
    await s.start()
    await clock.advance(60_000)
    expect(s.remove('a')).toBe(true)
    await clock.advance(1_000)
    await s.add(every('a', () => void calls++))
    await clock.advance(30_000)
    expect(calls).toBe(1)
    await clock.advance(30_000)
    expect(calls).toBe(2)
    expect((await s.runs()).map((r) => r.status)).toEqual(['succeeded', 'succeeded'])
  })
})
