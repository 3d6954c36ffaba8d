import { afterEach, describe, expect, it } from 'vitest'
import { FakeClock, flushCallbacks } from '../../src/core/clock.js'
import { CronsError, createScheduler, type Scheduler } from '../../src/index.js'
import { openStore } from '../../src/store/index.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe('probe embed 7: event payloads', () => {
  it('store:unreachable once, store:reachable with downMs; hook:failed; timer:overdue', async () => {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const s: Scheduler = createScheduler(
      {
        state: ':memory:',
        timezone: 'UTC',
        jobs: [
          {
            name: 'a',
            schedule: '* * * * *',
            run: () => 1,
            hooks: {
              afterRun: () => {
                throw new Error('hook bug')
              },
            },
          },
        ],
      },
      { clock, store },
    )
    cleanups.push(async () => {
      await s.stop({ graceMs: 0 }).catch(() => undefined)
      await store.close()
    })
    const seen: [string, unknown][] = []
    for (const ev of ['store:unreachable', 'store:reachable', 'hook:failed', 'timer:overdue'] as const) {
      s.events.on(ev, (e: unknown) => void seen.push([ev, e]))
    }
    await s.start()
    await clock.advance(60_000)
    const real = store.claimSlots.bind(store)
    let fails = 0
    store.claimSlots = async (...args) => {
      if (fails++ < 3) throw new CronsError('STATE_UNREACHABLE', 'ECONNREFUSED')
      return real(...args)
    }
    await clock.advance(70_000)
    await flushCallbacks()
    const kinds = seen.map(([k]) => k)
    expect(kinds.filter((k) => k === 'store:unreachable').length).toBeGreaterThan(0)
    // only claimSlots fails here, other calls answer: each answer ends an outage
    expect(kinds.filter((k) => k === 'store:reachable').length).toBe(kinds.filter((k) => k === 'store:unreachable').length)
    const reach = seen.find(([k]) => k === 'store:reachable')![1] as { downMs: number }
    expect(reach.downMs).toBeGreaterThan(0)
    const unre = seen.find(([k]) => k === 'store:unreachable')![1] as { message: string; error: unknown }
    expect(typeof unre.message).toBe('string')
    expect(unre.error).toBeInstanceOf(Error)
    const hf = seen.find(([k]) => k === 'hook:failed')![1]
    expect(hf).toEqual({ job: 'a', hook: 'afterRun', runId: 1, message: 'hook bug' })
  })
})
