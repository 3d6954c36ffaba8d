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

describe('probe embed 9', () => {
  it('a job that cancels its own run: cancel resolves cancelled, record cancelled, hooks once', async () => {
    const clock = new FakeClock(T0)
    const got: unknown[] = []
    const after: unknown[] = []
    const s: Scheduler = track(
      createScheduler(
        {
          state: ':memory:',
          timezone: 'UTC',
          jobs: [
            {
              name: 'a',
              schedule: '* * * * *',
              run: async () => {
                const [me] = await s.runs({ job: 'a', status: 'running' })
                const r = await s.cancel(me!.id, { reason: 'self' })
                got.push(r.status)
                return 'after-cancel'
              },
              hooks: { afterRun: (ctx) => void after.push([ctx.status, ctx.final]) },
            },
          ],
        },
        { clock },
      ),
    )
    await s.start()
    await clock.advance(60_000)
    await flushCallbacks()
    await clock.advance(1)
    expect(got).toEqual(['cancelled'])
    expect((await s.runs()).map((r) => r.status)).toEqual(['cancelled'])
    expect(after).toEqual([['cancelled', true]])
  })

  it('a run:finished listener that calls stop(): stop resolves, stopped once', async () => {
    const clock = new FakeClock(T0)
    const s = track(createScheduler({ state: ':memory:', timezone: 'UTC', jobs: [{ name: 'a', schedule: '* * * * *', run: () => 1 }] }, { clock }))
    let stopping: Promise<void> | undefined
    const events: string[] = []
    s.events.on('run:finished', () => {
      stopping = s.stop()
    })
    s.events.on('stopped', () => events.push('stopped'))
    await s.start()
    await clock.advance(60_000)
    await flushCallbacks()
    await stopping
    expect(events).toEqual(['stopped'])
    expect(clock.pending).toBe(0)
  })
})
