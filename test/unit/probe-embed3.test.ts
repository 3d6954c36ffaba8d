import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock, flushCallbacks } from '../../src/core/clock.js'
import { createScheduler, type Scheduler } from '../../src/index.js'

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

describe('probe embed 3', () => {
  it('beforeRun hook calling void stop(): the attempt has a true final record; stop resolves', async () => {
    const clock = new FakeClock(T0)
    let stopped: Promise<void> | undefined
    const after: unknown[] = []
    const s: Scheduler = track(
      createScheduler(
        {
          state: ':memory:',
          timezone: 'UTC',
          jobs: [
            {
              ...every('a', () => 'r'),
              hooks: {
                beforeRun: () => {
                  stopped = s.stop()
                },
                afterRun: (ctx) => void after.push([ctx.status, ctx.final]),
              },
            },
          ],
        },
        { clock },
      ),
    )
    const fin: string[] = []
    s.events.on('run:finished', (e) => fin.push(e.status))
    await s.start()
    await clock.advance(60_000)
    await flushCallbacks()
    await stopped
    expect(fin.length).toBe(1)
    expect(after).toEqual([[fin[0], true]])
    expect(clock.pending).toBe(0)
  })

  it('remove() during a retry backoff: the run goes on (retry happens)', async () => {
    const clock = new FakeClock(T0)
    let calls = 0
    const s = track(
      createScheduler(
        {
          state: ':memory:',
          timezone: 'UTC',
          jobs: [
            {
              ...every('a', () => {
                calls++
                throw new Error('x')
              }),
              retry: { max: 1, backoff: 'constant', initial: 10 },
            },
          ],
        },
        { clock, random: () => 0 },
      ),
    )
    await s.start()
    await clock.advance(60_000)
    s.remove('a')
    await clock.advance(15_000)
    expect(calls).toBe(2)
    expect((await s.runs()).map((r) => [r.status, r.attempt])).toEqual([
      ['failed', 1],
      ['failed', 2],
    ])
  })

  it('add() of the same resolved job twice at once: each slot runs once', async () => {
    const clock = new FakeClock(T0)
    let calls = 0
    const s = track(createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [every('a', () => void calls++)] }, { clock }))
    await s.start()
    const [job] = s.list()
    await Promise.all([s.add(job!), s.add(job!)])
    const errors: string[] = []
    s.events.on('engine:error', (e) => errors.push(e.message))
    await clock.advance(180_000)
    expect(calls).toBe(3)
    expect((await s.runs()).map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded'])
    expect(errors).toEqual([])
  })

  it('reload: remove then re-add after an hour: no missed', async () => {
    const clock = new FakeClock(T0)
    const s = track(createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [every('a')] }, { clock }))
    await s.start()
    await clock.advance(60_000)
    await s.reload({ timezone: 'UTC', jobs: [] })
    await clock.advance(3600_000)
    await s.reload({ timezone: 'UTC', jobs: [every('a')] })
    await clock.advance(60_000)
    expect((await s.runs({ limit: 100 })).map((r) => r.status)).toEqual(['succeeded', 'succeeded'])
  })

})
