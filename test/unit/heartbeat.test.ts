/**
 * The heartbeat asks the store for nothing but the renewal while nothing needs doing (an idle host
 * on Postgres sends one statement per beat), and still reaps a dead peer, takes over its runs and
 * adopts a stopped peer's retry on the beats that show them.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { JobDefinition } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { FakeClock } from '../../src/core/clock.js'
import { Scheduler } from '../../src/core/scheduler.js'
import { openStore } from '../../src/store/index.js'
import type { Store } from '../../src/store/types.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const cleanups: (() => Promise<void>)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** The store, with a count of the calls of each method. */
function counted(store: Store): { store: Store; calls: Map<string, number> } {
  const calls = new Map<string, number>()
  const wrapped = new Proxy(store, {
    get(target, key) {
      const value = Reflect.get(target, key, target)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        calls.set(String(key), (calls.get(String(key)) ?? 0) + 1)
        return value.apply(target, args)
      }
    },
  })
  return { store: wrapped, calls }
}

async function setup(jobs: JobDefinition[]) {
  const clock = new FakeClock(T0)
  const real = await openStore(':memory:')
  const { store, calls } = counted(real)
  const config = validateConfig({ timezone: 'UTC', jobs }, { file: 'test' })
  const scheduler = new Scheduler(config, {
    clock,
    store,
    random: () => 0,
    heartbeatMs: 10_000,
    instanceTtlMs: 30_000,
  })
  cleanups.push(async () => {
    await scheduler.stop({ graceMs: 0 }).catch(() => undefined)
    await real.close()
  })
  await scheduler.start()
  return { clock, store: real, calls, scheduler }
}

describe('the heartbeat', () => {
  it('idle: renews the lease and asks for nothing else', async () => {
    const { clock, calls } = await setup([{ name: 'nightly', schedule: '0 3 * * *', run: () => undefined }])
    const before = new Map(calls)
    await clock.advance(60_000)
    const during = (name: string) => (calls.get(name) ?? 0) - (before.get(name) ?? 0)
    expect(during('heartbeat')).toBe(6)
    expect(during('reapDeadInstances')).toBe(0)
    expect(during('listInstances')).toBe(0)
    expect(during('orphanedRetries')).toBe(0)
  })

  it('reaps a peer whose heartbeat expired, at the first beat that shows it, and only then', async () => {
    const { clock, store, calls, scheduler } = await setup([
      { name: 'nightly', schedule: '0 3 * * *', run: () => undefined },
    ])
    const interrupted: number[][] = []
    scheduler.events.on('runs:interrupted', (e) => interrupted.push(e.runIds))
    await store.registerInstance({ id: 'peer', role: 'scheduler', host: 'elsewhere', pid: 7, now: T0 })
    const [claimed] = await store.claimSlots(
      [{ job: 'other', slot: T0, trigger: 'schedule', overlap: 'skip' }],
      'peer',
      T0,
    )
    if (claimed?.kind !== 'started') throw new Error('expected a started run')
    const reapsBefore = calls.get('reapDeadInstances') ?? 0

    // Alive for 30 s (its heartbeat is not older than the TTL): nothing to reap.
    await clock.advance(30_000)
    expect(calls.get('reapDeadInstances') ?? 0).toBe(reapsBefore)
    // The beat at 40 s finds it 40 s silent.
    await clock.advance(10_000)
    expect(calls.get('reapDeadInstances') ?? 0).toBe(reapsBefore + 1)
    expect(interrupted).toEqual([[claimed.runId]])
    expect(await store.getRun(claimed.runId)).toMatchObject({ status: 'interrupted', active: false })
    // Reaped: later beats have nothing to do again.
    await clock.advance(30_000)
    expect(calls.get('reapDeadInstances') ?? 0).toBe(reapsBefore + 1)
  })

  it("adopts a stopped peer's retry from the beat, without a reaping", async () => {
    let calledAt: number[] = []
    const { clock, store, calls } = await setup([
      {
        name: 'sync',
        schedule: '0 3 * * *',
        retry: { max: 2, initial: 1 },
        run: () => {
          calledAt.push(clock.now())
        },
      },
    ])
    calledAt = []
    await store.registerInstance({ id: 'peer', role: 'scheduler', host: 'elsewhere', pid: 7, now: T0 })
    const [claimed] = await store.claimSlots(
      [{ job: 'sync', slot: T0 - 60_000, trigger: 'schedule', overlap: 'skip' }],
      'peer',
      T0,
    )
    if (claimed?.kind !== 'started') throw new Error('expected a started run')
    await store.finishRun(claimed.runId, {
      status: 'failed',
      finishedAt: T0 + 1_000,
      errorMessage: 'boom',
      retryAt: T0 + 15_000,
      codeDone: true,
    })
    await store.stopInstance('peer', T0 + 2_000)
    const reapsBefore = calls.get('reapDeadInstances') ?? 0

    // The beat at 10 s shows the orphaned retry; it runs when due, at 15 s.
    await clock.advance(20_000)
    expect(calledAt).toEqual([T0 + 15_000])
    expect(calls.get('reapDeadInstances') ?? 0).toBe(reapsBefore)
    const runs = (await store.listRuns({ job: 'sync', limit: 10 })).reverse()
    expect(runs.map((r) => [r.attempt, r.status])).toEqual([
      [1, 'failed'],
      [2, 'succeeded'],
    ])
  })
})
