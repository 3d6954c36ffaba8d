/**
 * The fault paths that must never wedge, stall or kill a scheduler (SEMANTICS §5, §7): a listener
 * that throws, a dead loop, start and stop in any order, a hurried stop, stray errors of a job, the
 * state file deleted under a running scheduler, a dead process on this host.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { JobDefinition } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { cancelRun } from '../../src/core/cancel.js'
import { FakeClock, flushCallbacks } from '../../src/core/clock.js'
import { Scheduler, type SchedulerOptions } from '../../src/core/scheduler.js'
import { reportStrayErrors } from '../../src/core/stray.js'
import { CronsError } from '../../src/errors.js'
import { openStore } from '../../src/store/index.js'
import type { AttemptRecord, Store } from '../../src/store/types.js'
import { strayBus } from './stray-bus.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const cleanups: (() => Promise<void> | void)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function setup(jobs: JobDefinition[], options: SchedulerOptions & { store?: Store } = {}) {
  const clock = (options.clock as FakeClock | undefined) ?? new FakeClock(T0)
  const store = options.store ?? (await openStore(':memory:'))
  const config = validateConfig({ timezone: 'UTC', jobs }, { file: 'test' })
  const scheduler = new Scheduler(config, { random: () => 0, ...options, clock, store })
  const errors: string[] = []
  scheduler.events.on('engine:error', (e) => errors.push(e.message))
  cleanups.push(async () => {
    await scheduler.stop({ graceMs: 0 }).catch(() => undefined)
    await store.close().catch(() => undefined)
  })
  return { clock, store, scheduler, errors }
}

/** Hold `store[method]` calls until `release()` (a slow store, a network round trip). */
function gate<K extends keyof Store>(store: Store, method: K) {
  let open!: () => void
  const opened = new Promise<void>((resolve) => {
    open = resolve
  })
  let held = 0
  const real = (store[method] as (...args: unknown[]) => Promise<unknown>).bind(store)
  ;(store as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    held++
    await opened
    return real(...args)
  }
  return {
    release: open,
    get held() {
      return held
    },
    restore: () => {
      ;(store as unknown as Record<string, unknown>)[method] = real
    },
  }
}

/** Advance fake time in steps until `done` settles (a stop waiting out its grace on the fake clock). */
async function advanceUntil(clock: FakeClock, done: Promise<unknown>): Promise<void> {
  let over = false
  void done.then(() => {
    over = true
  })
  // Real I/O (a backup of the state file) may take a while under load: give it real time too.
  for (let i = 0; i < 600 && !over; i++) {
    await clock.advance(1_000)
    if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 10))
  }
  await done
}

async function runs(store: Store, job: string): Promise<AttemptRecord[]> {
  return (await store.listRuns({ job, limit: 1000 })).reverse()
}

describe('a listener that throws', () => {
  it('a throwing timer:overdue listener is one engine:error; firing goes on and stop() closes cleanly', async () => {
    const fired: number[] = []
    const { clock, store, scheduler, errors } = await setup([
      { name: 'tick', schedule: '* * * * * *', run: () => void fired.push(clock.now()) },
    ])
    scheduler.events.on('timer:overdue', () => {
      throw new Error('listener bug')
    })
    await scheduler.start()
    await clock.advanceTo(T0 + 1_000)
    // The loop wakes 5 s late (a blocked event loop, a suspend): overdue is reported.
    clock.jump(5_000)
    await clock.advance(1_000)
    const before = fired.length
    await clock.advance(5_000)
    expect(fired.length).toBeGreaterThanOrEqual(before + 5)
    expect(errors).toEqual(['a listener of "timer:overdue" threw'])
    await scheduler.stop()
    expect((await store.listInstances())[0]?.stoppedAt).not.toBeNull()
  })

  it('a throwing run:started listener on a run claimed ahead neither escapes nor fails the runs', async () => {
    const { clock, store, scheduler, errors } = await setup(
      [{ name: 'tick', schedule: '* * * * * *', run: () => 'ok' }],
      { claimLeadMs: 100 },
    )
    scheduler.events.on('run:started', () => {
      throw new Error('listener bug')
    })
    await scheduler.start()
    await clock.advanceTo(T0 + 3_000)
    const rows = await runs(store, 'tick')
    expect(rows.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded'])
    expect(errors).toEqual(Array(3).fill('a listener of "run:started" threw'))
  })

  it('a throwing engine:error listener is ignored', async () => {
    const { clock, store, scheduler } = await setup([{ name: 'tick', schedule: '* * * * * *', run: () => 'ok' }])
    scheduler.events.on('engine:error', () => {
      throw new Error('listener bug too')
    })
    scheduler.events.on('run:finished', () => {
      throw new Error('listener bug')
    })
    await scheduler.start()
    await clock.advanceTo(T0 + 2_000)
    expect((await runs(store, 'tick')).map((r) => r.status)).toEqual(['succeeded', 'succeeded'])
  })
})

describe('a dead loop does not report healthy', () => {
  it('the heartbeat finds the loop no longer armed: the scheduler fails, stops and marks itself stopped', async () => {
    const { clock, store, scheduler } = await setup([{ name: 'tick', schedule: '* * * * * *', run: () => {} }])
    const failed: string[] = []
    scheduler.events.on('scheduler:failed', (e) => failed.push(e.message))
    const stopped = new Promise<void>((resolve) => scheduler.events.on('stopped', () => resolve()))
    await scheduler.start()
    // Simulate a bug that leaves the loop without a timer.
    ;(scheduler as unknown as { loop: { arm: () => void } }).loop.arm = () => {}
    await clock.advanceTo(T0 + 1_000)
    await advanceUntil(clock, stopped)
    expect(failed).toEqual(['the scheduling loop stopped waking up; no more slots would fire'])
    const [me] = await store.listInstances()
    expect(me?.stoppedAt).not.toBeNull()
  })
})

describe('start and stop in any order', () => {
  it('stop() during start(): no started event after stopped, the instance is stopped, no timer left', async () => {
    const clock = new FakeClock(T0)
    const real = await openStore(':memory:')
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const syncJobs = real.syncJobs.bind(real)
    real.syncJobs = async (...args) => {
      await gate
      return syncJobs(...args)
    }
    const { scheduler } = await setup([{ name: 'tick', schedule: '* * * * * *', run: () => {} }], {
      clock,
      store: real,
    })
    const events: string[] = []
    scheduler.events.on('started', () => events.push('started'))
    scheduler.events.on('stopped', () => events.push('stopped'))
    const starting = scheduler.start()
    await flushCallbacks()
    const stopping = scheduler.stop()
    release()
    await Promise.all([starting, stopping])
    expect(events).toEqual(['stopped'])
    expect((await real.listInstances())[0]?.stoppedAt).not.toBeNull()
    expect(clock.pending).toBe(0)
  })

  it('stop() from a started listener: no heartbeat or pruning after the stop, no timer left', async () => {
    const { clock, store, scheduler, errors } = await setup([{ name: 'tick', schedule: '@daily', run: () => {} }])
    let stopping: Promise<void> | undefined
    scheduler.events.on('started', () => {
      stopping = scheduler.stop({ graceMs: 0 })
    })
    await scheduler.start()
    await stopping
    expect(clock.pending).toBe(0)
    await clock.advance(120_000)
    expect(errors).toEqual([])
    expect((await store.listInstances())[0]?.stoppedAt).not.toBeNull()
  })

  it('a stop while start() looks for orphaned retries leaves them pending for a live scheduler', async () => {
    const { clock, store, scheduler } = await setup([
      { name: 'sync', schedule: '0 3 * * *', retry: { max: 2, initial: 1 }, run: () => 'ok' },
    ])
    await store.registerInstance({ id: 'peer', role: 'scheduler', host: 'elsewhere', pid: 7, now: T0 })
    const [claimed] = await store.claimSlots(
      [{ job: 'sync', slot: T0 - 60_000, trigger: 'schedule', overlap: 'skip' }],
      'peer',
      T0,
    )
    if (claimed?.kind !== 'started') throw new Error('expected a started run')
    await store.finishRun(claimed.runId, { status: 'failed', finishedAt: T0, retryAt: T0, codeDone: true })
    await store.stopInstance('peer', T0)
    const orphanedRetries = store.orphanedRetries.bind(store)
    let stopping: Promise<void> | undefined
    store.orphanedRetries = async () => {
      stopping = scheduler.stop({ graceMs: 0 })
      return orphanedRetries()
    }
    await scheduler.start()
    await stopping
    expect(clock.pending).toBe(0)
    store.orphanedRetries = orphanedRetries
    expect((await store.orphanedRetries()).map((r) => r.runId)).toEqual([claimed.runId])
    expect((await store.listRuns({ job: 'sync', limit: 10 })).map((r) => r.status)).toEqual(['failed'])
  })

  it('start() twice, and runJob() then start(), keep one heartbeat chain that ends with stop()', async () => {
    const { clock, store, scheduler } = await setup([{ name: 'job', schedule: '@daily', run: () => 'ok' }])
    let beats = 0
    const heartbeat = store.heartbeat.bind(store)
    store.heartbeat = (...args) => {
      beats++
      return heartbeat(...args)
    }
    await scheduler.runJob('job')
    await Promise.all([scheduler.start(), scheduler.start()])
    await clock.advance(60_000)
    expect(beats).toBe(6)
    await scheduler.stop()
    expect(clock.pending).toBe(0)
  })
})

describe('calls interleaved with start()', () => {
  it('add() while start() serves its jobs: the added job is scheduled', async () => {
    const fired: string[] = []
    const { clock, store, scheduler } = await setup([{ name: 'a', schedule: '@daily', run: () => {} }])
    const g = gate(store, 'syncJobs')
    const starting = scheduler.start()
    await flushCallbacks()
    const adding = scheduler.add({ name: 'b', schedule: '* * * * * *', run: () => void fired.push('b') })
    await flushCallbacks()
    g.release()
    await Promise.all([starting, adding])
    expect(scheduler.list().map((j) => j.name)).toEqual(['a', 'b'])
    await clock.advance(3_000)
    expect(fired).toEqual(['b', 'b', 'b'])
  })

  it('remove() while start() serves its jobs: the removed job does not fire', async () => {
    const fired: string[] = []
    const { clock, store, scheduler } = await setup([
      { name: 'a', schedule: '* * * * * *', run: () => void fired.push('a') },
    ])
    const g = gate(store, 'syncJobs')
    const starting = scheduler.start()
    await flushCallbacks()
    expect(scheduler.remove('a')).toBe(true)
    g.release()
    await starting
    await clock.advance(3_000)
    expect(scheduler.list()).toEqual([])
    expect(fired).toEqual([])
  })

  it('reload() from a started listener: no loop timer left after stop()', async () => {
    const { clock, scheduler } = await setup([{ name: 'a', schedule: '@daily', run: () => {} }])
    const next = validateConfig(
      { timezone: 'UTC', jobs: [{ name: 'a', schedule: '@daily', timeout: '5s', run: () => {} }] },
      { file: 'test' },
    )
    let reloading: Promise<unknown> | undefined
    scheduler.events.on('started', () => {
      reloading = scheduler.reload(next)
    })
    await scheduler.start()
    await reloading
    await scheduler.stop({ graceMs: 0 })
    expect(clock.pending).toBe(0)
  })

  it('add() from a started listener (the store slow to list orphaned retries): no loop timer left after stop()', async () => {
    const { clock, store, scheduler } = await setup([{ name: 'a', schedule: '@daily', run: () => {} }])
    const g = gate(store, 'orphanedRetries')
    let adding: Promise<unknown> | undefined
    scheduler.events.on('started', () => {
      adding = scheduler.add({ name: 'b', schedule: '@hourly', run: () => {} })
    })
    const starting = scheduler.start()
    await flushCallbacks()
    await adding
    g.release()
    await starting
    await scheduler.stop({ graceMs: 0 })
    expect(clock.pending).toBe(0)
  })
})

describe('add() and remove() while an add() is served', () => {
  it('add() twice of one name without awaiting in between: the second definition is the one that runs', async () => {
    const fired: string[] = []
    const { clock, scheduler } = await setup([{ name: 'a', schedule: '@daily', run: () => {} }])
    await scheduler.start()
    await Promise.all([
      scheduler.add({ name: 'b', schedule: '* * * * * *', run: () => void fired.push('v1') }),
      scheduler.add({ name: 'b', schedule: '* * * * * *', run: () => void fired.push('v2') }),
    ])
    await clock.advance(3_000)
    expect(fired).toEqual(['v2', 'v2', 'v2'])
  })

  it('remove() while add() of the job is still being served: the job does not fire', async () => {
    const fired: string[] = []
    const { clock, store, scheduler } = await setup([{ name: 'a', schedule: '@daily', run: () => {} }])
    await scheduler.start()
    const g = gate(store, 'syncJobs')
    const adding = scheduler.add({ name: 'b', schedule: '* * * * * *', run: () => void fired.push('b') })
    await flushCallbacks()
    expect(scheduler.remove('b')).toBe(true)
    g.release()
    await adding
    await clock.advance(3_000)
    expect(fired).toEqual([])
  })
})

describe('calls in flight across stop()', () => {
  it('runJob() in flight when stop() is called: no run starts and no heartbeat is armed after the stop', async () => {
    const { clock, store, scheduler } = await setup([{ name: 'job', schedule: '@daily', run: () => 'ok' }])
    await scheduler.runs() // the store is open
    const order: string[] = []
    scheduler.events.on('stopped', () => order.push('stopped'))
    scheduler.events.on('run:started', () => order.push('run:started'))
    const g = gate(store, 'syncJobs')
    const running = scheduler.runJob('job')
    running.catch(() => undefined)
    await flushCallbacks()
    const stopping = scheduler.stop({ graceMs: 0 })
    await flushCallbacks()
    g.release()
    await Promise.allSettled([running, stopping])
    expect(order.slice(order.indexOf('stopped'))).toEqual(['stopped'])
    expect(clock.pending).toBe(0)
  })

  it('reload() in flight when stop() is called: nothing written and no config:reloaded after stopped', async () => {
    const { store, scheduler } = await setup([{ name: 'a', schedule: '@daily', run: () => {} }])
    await scheduler.start()
    const order: string[] = []
    scheduler.events.on('stopped', () => order.push('stopped'))
    scheduler.events.on('config:reloaded', () => order.push('config:reloaded'))
    const g = gate(store, 'listJobs')
    const next = validateConfig(
      {
        timezone: 'UTC',
        jobs: [
          { name: 'a', schedule: '@daily', run: () => {} },
          { name: 'b', schedule: '* * * * * *', run: () => {} },
        ],
      },
      { file: 'test' },
    )
    const reloading = scheduler.reload(next)
    reloading.catch(() => undefined)
    await flushCallbacks()
    const stopping = scheduler.stop({ graceMs: 0 })
    await flushCallbacks()
    const writes: string[] = []
    for (const m of ['syncJobs', 'updateInstance'] as const) {
      const real = (store[m] as (...a: unknown[]) => Promise<unknown>).bind(store)
      ;(store as unknown as Record<string, unknown>)[m] = (...a: unknown[]) => {
        if (order.includes('stopped')) writes.push(m)
        return real(...a)
      }
    }
    g.release()
    await Promise.allSettled([reloading, stopping])
    expect(order.slice(order.indexOf('stopped'))).toEqual(['stopped'])
    expect(writes).toEqual([])
  })

  it('add() in flight when stop() is called: nothing written after stopped', async () => {
    const { store, scheduler } = await setup([{ name: 'a', schedule: '@daily', run: () => {} }])
    await scheduler.start()
    const order: string[] = []
    scheduler.events.on('stopped', () => order.push('stopped'))
    const g = gate(store, 'listJobs')
    const adding = scheduler.add({ name: 'b', schedule: '* * * * * *', run: () => {} })
    adding.catch(() => undefined)
    await flushCallbacks()
    const stopping = scheduler.stop({ graceMs: 0 })
    await flushCallbacks()
    const writes: string[] = []
    const syncJobs = store.syncJobs.bind(store)
    store.syncJobs = (...a) => {
      if (order.includes('stopped')) writes.push('syncJobs')
      return syncJobs(...a)
    }
    g.release()
    await Promise.allSettled([adding, stopping])
    expect(writes).toEqual([])
  })

  it('a heartbeat in flight when stop() closes its own state file: nothing reported after stopped', async () => {
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-stop-'))
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }))
    const state = path.join(dir, 'crons.db')
    const config = validateConfig(
      { timezone: 'UTC', state, jobs: [{ name: 'a', schedule: '@daily', run: () => {} }] },
      { file: 'test' },
    )
    const clock = new FakeClock(T0)
    let g: ReturnType<typeof gate> | undefined
    const scheduler = new Scheduler(config, {
      clock,
      random: () => 0,
      openStore: async (where) => {
        const store = await openStore(where)
        g = gate(store, 'heartbeat')
        return store
      },
    })
    const order: string[] = []
    scheduler.events.on('stopped', () => order.push('stopped'))
    scheduler.events.on('store:unreachable', (e) => order.push(`store:unreachable ${e.message}`))
    scheduler.events.on('engine:error', (e) => order.push(`engine:error ${e.message}`))
    await scheduler.start()
    await clock.advance(10_000)
    expect(g?.held).toBe(1)
    const stopping = scheduler.stop({ graceMs: 0 })
    await flushCallbacks()
    g?.release()
    await stopping
    await flushCallbacks()
    expect(order).toEqual(['stopped'])
  })

  it('cancel() waiting on a peer when stop() is called: it ends there, the request standing, no timer left', async () => {
    const { clock, store, scheduler } = await setup([{ name: 'a', schedule: '@daily', run: () => {} }])
    await scheduler.start()
    await store.registerInstance({ id: 'peer', role: 'scheduler', host: 'elsewhere', pid: 7, now: T0 })
    const [claimed] = await store.claimSlots(
      [{ job: 'a', slot: T0 - 60_000, trigger: 'schedule', overlap: 'skip' }],
      'peer',
      T0,
    )
    if (claimed?.kind !== 'started') throw new Error('expected a started run')
    const cancelling = scheduler.cancel(claimed.runId)
    cancelling.catch(() => undefined)
    await flushCallbacks()
    await scheduler.stop({ graceMs: 0 })
    expect(clock.pending).toBe(0)
    await expect(cancelling).rejects.toThrow(
      `run ${claimed.runId} of job "a" runs on instance peer (host elsewhere, pid 7), which has not acted on the cancel before this scheduler stopped; the request stands`,
    )
  })
})

describe('jobs and listeners that call the scheduler', () => {
  it('a job that calls scheduler.stop() (not awaited): its run and its batch-mates are recorded normally', async () => {
    let scheduler!: Scheduler
    let stopping: Promise<void> | undefined
    const s = await setup([
      {
        name: 'a',
        schedule: '* * * * * *',
        run: () => {
          stopping ??= scheduler.stop()
          return 'a'
        },
      },
      { name: 'b', schedule: '* * * * * *', run: () => 'b' },
    ])
    scheduler = s.scheduler
    await scheduler.start()
    await s.clock.advanceTo(T0 + 1_000)
    await stopping
    expect((await runs(s.store, 'a')).map((r) => r.status)).toEqual(['succeeded'])
    expect((await runs(s.store, 'b')).map((r) => r.status)).toEqual(['succeeded'])
    expect(s.clock.pending).toBe(0)
    expect(s.errors).toEqual([])
  })

  it('a job that awaits scheduler.stop(): the stop ends after the grace, the run interrupted', async () => {
    let scheduler!: Scheduler
    let stopping: Promise<void> | undefined
    const s = await setup([
      {
        name: 'a',
        schedule: '* * * * * *',
        run: async () => {
          stopping ??= scheduler.stop({ graceMs: 5_000 })
          await stopping
          return 'a'
        },
      },
    ])
    scheduler = s.scheduler
    await scheduler.start()
    await s.clock.advanceTo(T0 + 1_000)
    await s.clock.advance(5_000)
    await stopping
    expect((await runs(s.store, 'a')).map((r) => r.status)).toEqual(['interrupted'])
    expect(s.clock.pending).toBe(0)
  })

  it('after stop(), add, remove, reload, pause and cancel are refused with SCHEDULER_STOPPED', async () => {
    const { scheduler } = await setup([{ name: 'a', schedule: '@daily', run: () => {} }])
    await scheduler.start()
    await scheduler.stop({ graceMs: 0 })
    await expect(scheduler.add({ name: 'c', schedule: '* * * * * *', run: () => {} })).rejects.toMatchObject({
      code: 'SCHEDULER_STOPPED',
    })
    expect(() => scheduler.remove('a')).toThrow(/stopped/)
    await expect(scheduler.reload(scheduler.config)).rejects.toMatchObject({ code: 'SCHEDULER_STOPPED' })
    await expect(scheduler.pause('a')).rejects.toMatchObject({ code: 'SCHEDULER_STOPPED' })
    await expect(scheduler.cancel(1)).rejects.toMatchObject({ code: 'SCHEDULER_STOPPED' })
  })

  it('stop() from a run:finished listener while a retry is pending: retry recorded interrupted, no running row', async () => {
    const { clock, store, scheduler } = await setup([
      {
        name: 'f',
        schedule: '* * * * * *',
        retry: { max: 2, initial: 5 },
        run: () => {
          throw new Error('boom')
        },
      },
    ])
    let stopping: Promise<void> | undefined
    scheduler.events.on('run:finished', () => {
      stopping ??= scheduler.stop({ graceMs: 0 })
    })
    await scheduler.start()
    await clock.advanceTo(T0 + 1_000)
    await stopping
    expect((await runs(store, 'f')).map((r) => r.status)).toEqual(['failed', 'interrupted'])
    expect(clock.pending).toBe(0)
  })

  it('cancel() from a run:started listener for that very run: it is cancelled', async () => {
    const { clock, store, scheduler } = await setup([
      {
        name: 'a',
        schedule: '* * * * * *',
        run: (ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', resolve)),
      },
    ])
    let cancelling: Promise<unknown> | undefined
    scheduler.events.on('run:started', (e) => {
      cancelling ??= scheduler.cancel(e.runId)
    })
    await scheduler.start()
    await clock.advanceTo(T0 + 1_000)
    await clock.advance(10_000)
    await expect(cancelling).resolves.toMatchObject({ status: 'cancelled' })
    expect((await runs(store, 'a'))[0]?.status).toBe('cancelled')
  })
})

describe('a hurried stop', () => {
  it('does not wait for a hanging onError hook after the second stop()', async () => {
    const { clock, store, scheduler } = await setup([
      {
        name: 'fails',
        schedule: '* * * * * *',
        run: () => {
          throw new Error('boom')
        },
        hooks: { onError: () => new Promise(() => {}) },
      },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 1_000)
    const first = scheduler.stop()
    const second = scheduler.stop()
    // No fake time passes: the stop must end on its own, without the hook's 10-s timeout.
    await Promise.all([first, second])
    expect((await runs(store, 'fails'))[0]).toMatchObject({ status: 'failed', errorMessage: 'boom' })
  })
})

describe("a stop's grace", () => {
  it('goes on heartbeating: a peer does not take a job still running for dead, it is recorded as it ended', async () => {
    let finish!: () => void
    const long: JobDefinition = {
      name: 'long',
      schedule: '0 * * * * *',
      run: () => new Promise<string>((resolve) => (finish = () => resolve('done'))),
    }
    const a = await setup([long], { instanceId: 'A' })
    const peer = await setup([{ name: 'other', schedule: '0 0 1 1 *', run: () => {} }], {
      store: a.store,
      clock: a.clock,
      instanceId: 'B',
    })
    await a.scheduler.start()
    await peer.scheduler.start()
    await a.clock.advanceTo(T0 + 61_000)
    const stopped = a.scheduler.stop({ graceMs: 120_000 })
    await a.clock.advance(50_000) // longer than a lease (30 s) since the stop began
    finish()
    await flushCallbacks()
    await a.clock.advance(1000)
    await stopped
    const runs = await a.store.listRuns({ job: 'long' })
    expect(runs.map((r) => [r.status, r.result, r.errorMessage])).toEqual([['succeeded', '"done"', null]])
    expect(a.clock.pending).toBeGreaterThan(0) // the peer's timers; none of the stopped scheduler's below
    await peer.scheduler.stop({ graceMs: 0 })
    expect(a.clock.pending).toBe(0)
  })

  it('reads cancel requests: a cancel from another process is acted on', async () => {
    const abortable: JobDefinition = {
      name: 'long',
      schedule: '0 * * * * *',
      run: (ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
    }
    const { clock, store, scheduler } = await setup([abortable])
    await scheduler.start()
    await clock.advanceTo(T0 + 61_000)
    const [running] = await store.listRuns({ job: 'long' })
    const stopped = scheduler.stop({ graceMs: 120_000 })
    const env = { store, clock, cancelActive: undefined }
    const outcome = cancelRun(env, running?.id as number, { waitMs: 30_000 }).then(
      (run) => run.status,
      (error: Error) => error.message,
    )
    for (let i = 0; i < 35; i++) await clock.advance(1000)
    expect(await outcome).toBe('cancelled')
    await stopped
    expect(clock.pending).toBe(0)
  })
})

describe('stray errors are pinned on the job that caused them', () => {
  /** A stand-in for `process`: errors reach it from inside the job's own async work. */
  it('an error from a timer the job left running fails the attempt while it runs', async () => {
    const bus = strayBus()
    const { clock, store, scheduler } = await setup([
      {
        name: 'leaky',
        schedule: '* * * * * *',
        run: () =>
          new Promise(() => {
            setTimeout(() => bus.raise(new Error('thrown in a timer')), 1)
          }),
      },
    ])
    cleanups.push(reportStrayErrors(scheduler.events, bus))
    await scheduler.start()
    await clock.advanceTo(T0 + 1_000)
    await new Promise((resolve) => setTimeout(resolve, 20))
    await flushCallbacks()
    expect((await runs(store, 'leaky'))[0]).toMatchObject({ status: 'failed', errorMessage: 'thrown in a timer' })
  })

  it('an error from a timer after the job returned is attached to its record; one outside any job stays engine:error', async () => {
    const bus = strayBus()
    const { clock, store, scheduler, errors } = await setup([
      {
        name: 'returned',
        schedule: '* * * * * *',
        run: () => {
          setTimeout(() => bus.raise(new Error('late timer')), 1)
          return 'done'
        },
      },
    ])
    cleanups.push(reportStrayErrors(scheduler.events, bus))
    await scheduler.start()
    await clock.advanceTo(T0 + 1_000)
    await new Promise((resolve) => setTimeout(resolve, 20))
    await flushCallbacks()
    const [row] = await runs(store, 'returned')
    expect(row).toMatchObject({
      status: 'succeeded',
      errorMessage: 'uncaught error after the attempt ended: late timer',
    })
    expect(row?.output).toContain('late timer')
    bus.raise(new Error('nobody'))
    expect(errors).toContain('uncaught error outside any job (such as a promise nothing awaited)')
  })
})

describe('outcomes kept after a failed write', () => {
  /** `finishRun` refuses `bad`'s run for ever with `refusal`, and fails every other run's first write. */
  async function keptOutcomes(refusal: Error) {
    const jobs: JobDefinition[] = [
      { name: 'bad', schedule: '@daily', run: () => {} },
      { name: 'good', schedule: '@daily', run: () => 'ok' },
    ]
    const { store, scheduler } = await setup(jobs)
    const real = store.finishRun.bind(store)
    const failedOnce = new Set<number>()
    const written: string[] = []
    store.finishRun = async (runId, outcome) => {
      const job = (await store.getRun(runId))?.job ?? '?'
      written.push(job)
      if (job === 'bad') throw refusal
      if (!failedOnce.has(runId)) {
        failedOnce.add(runId)
        throw new Error('connection lost')
      }
      return real(runId, outcome)
    }
    await scheduler.runJob('bad')
    await scheduler.runJob('good')
    written.length = 0
    // The stop writes what is kept once more, in the order it was kept: bad's first.
    await scheduler.stop({ graceMs: 0 })
    return { written, good: (await runs(store, 'good')).map((r) => r.status) }
  }

  it('one the store can never take does not keep the others from being written again', async () => {
    expect(await keptOutcomes(new Error('invalid byte sequence for encoding "UTF8": 0x00'))).toEqual({
      written: ['bad', 'good'],
      good: ['succeeded'],
    })
  })

  it('the store out of reach ends the pass at the first failure', async () => {
    const unreachable = new CronsError('STATE_UNREACHABLE', 'postgres db:5432 database "x": the connection was lost')
    expect(await keptOutcomes(unreachable)).toEqual({ written: ['bad'], good: ['running'] })
  })
})

describe('the state file deleted under a running scheduler', () => {
  it('is noticed at the next heartbeat: restored from the open database (nothing lost), and the scheduler stops with one line', async () => {
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-gone-'))
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }))
    const file = path.join(dir, 'crons.db')
    const store = await openStore(file)
    const { clock, scheduler } = await setup([{ name: 'tick', schedule: '* * * * * *', run: () => 'ok' }], { store })
    const failed: string[] = []
    scheduler.events.on('scheduler:failed', (e) => failed.push(e.message))
    const stopped = new Promise<void>((resolve) => scheduler.events.on('stopped', () => resolve()))
    await scheduler.start()
    await clock.advanceTo(T0 + 3_000)
    fs.rmSync(file)
    for (const companion of ['-wal', '-shm']) fs.rmSync(file + companion, { force: true })
    await advanceUntil(clock, stopped)
    expect(failed).toEqual([`state file ${file} was deleted while in use; restored it from the open database`])
    // Closing the store (the test's: it passed it in) adds what the stop wrote after the restore.
    await store.close()
    const reopened = await openStore(file, { readonly: true })
    cleanups.push(() => reopened.close())
    const rows = await runs(reopened, 'tick')
    // Every run up to the heartbeat, those written after the deletion included.
    expect(rows.length).toBeGreaterThanOrEqual(9)
    expect(rows.filter((r) => r.status !== 'succeeded')).toEqual([])
  })
})

describe('a dead process on this host', () => {
  it('its running run is interrupted at once at start, without waiting for its heartbeat to expire', async () => {
    const store = await openStore(':memory:')
    // A pid that existed and is gone.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString()
    const now = Date.now()
    await store.registerInstance({ id: 'killed', role: 'scheduler', host: hostname(), pid: Number(gone), now })
    const [outcome] = await store.claimSlots(
      [{ job: 'backup', slot: now - 1_000, trigger: 'schedule', overlap: 'skip' }],
      'killed',
      now - 1_000,
    )
    const { scheduler } = await setup([{ name: 'backup', schedule: '@daily', run: () => {} }], {
      store,
      clock: new FakeClock(now + 500),
    })
    const interrupted: number[][] = []
    scheduler.events.on('runs:interrupted', (e) => interrupted.push(e.runIds))
    await scheduler.start()
    const runId = outcome?.kind === 'started' ? outcome.runId : -1
    expect(interrupted).toEqual([[runId]])
    expect(await store.getRun(runId)).toMatchObject({ status: 'interrupted', active: false })
  })
})

describe('durable retries', () => {
  it('a retry waiting out its backoff when its scheduler dies is run by the next scheduler, once', async () => {
    const store = await openStore(':memory:')
    const attempts: number[] = []
    const job: JobDefinition = {
      name: 'flaky',
      schedule: '0 * * * *',
      retry: { max: 2, backoff: 'constant', initial: 60 },
      run: (ctx) => {
        attempts.push(ctx.attempt)
        if (ctx.attempt === 1) throw new Error('first try fails')
        return 'ok'
      },
    }
    // The first scheduler fails attempt 1 and dies (its clock never moves again) during the backoff.
    const first = await setup([job], { store, clock: new FakeClock(T0 + 3_599_000), instanceId: 'first' })
    await first.scheduler.start()
    await first.clock.advanceTo(T0 + 3_600_000)
    expect(attempts).toEqual([1])
    const [failed] = await runs(store, 'flaky')
    expect(failed).toMatchObject({ status: 'failed', attempt: 1 })
    // A second scheduler starts 40 s later: the first's heartbeat has expired.
    const second = await setup([job], { store, clock: new FakeClock(T0 + 3_640_000), instanceId: 'second' })
    await second.scheduler.start()
    await second.clock.advanceTo(T0 + 3_659_000)
    expect(attempts).toEqual([1])
    await second.clock.advanceTo(T0 + 3_661_000)
    expect(attempts).toEqual([1, 2])
    const rows = await runs(store, 'flaky')
    expect(rows.map((r) => [r.attempt, r.status, r.instanceId])).toEqual([
      [1, 'failed', 'first'],
      [2, 'succeeded', 'second'],
    ])
  })
})

describe('a one-off job whose instant is now or just past', () => {
  it('runs once within its misfire grace, is recorded missed past it, and never runs twice', async () => {
    const called: string[] = []
    const jobs: JobDefinition[] = [
      { name: 'now', at: new Date(T0), run: () => void called.push('now') },
      { name: 'just-past', at: new Date(T0 - 10_000), run: () => void called.push('just-past') },
      { name: 'long-past', at: new Date(T0 - 7_200_000), run: () => void called.push('long-past') },
    ]
    const { clock, store, scheduler } = await setup(jobs)
    const missed: string[] = []
    scheduler.events.on('slot:missed', (e) => missed.push(e.job))
    await scheduler.start()
    await clock.advance(1_000)
    expect(called.sort()).toEqual(['just-past', 'now'])
    expect(missed).toEqual(['long-past'])
    expect((await runs(store, 'long-past')).map((r) => r.status)).toEqual(['missed'])
    await scheduler.stop()
    // Another scheduler on the same store: each one-off was served.
    const again = await setup(jobs, { store, clock: new FakeClock(T0 + 5_000) })
    await again.scheduler.start()
    await again.clock.advance(60_000)
    expect(called.sort()).toEqual(['just-past', 'now'])
  })

  it('added to a running scheduler with an instant just past, it runs at once', async () => {
    const called: number[] = []
    const { clock, scheduler } = await setup([{ name: 'tick', schedule: '@daily', run: () => {} }])
    await scheduler.start()
    await clock.advance(5_000)
    await scheduler.add({ name: 'late', at: new Date(T0 + 1_000), run: () => void called.push(clock.now()) })
    await clock.advance(100)
    expect(called).toHaveLength(1)
  })
})

describe("a job's console output", () => {
  it('console.log and console.error in a job are kept with its attempt and sent as run:log, even from its timers', async () => {
    const { clock, store, scheduler } = await setup(
      [
        {
          name: 'chatty',
          schedule: '* * * * * *',
          run: async () => {
            console.log('hello %s', 'there')
            await new Promise<void>((resolve) =>
              setTimeout(() => {
                console.error('from a timer')
                resolve()
              }, 1),
            )
          },
        },
      ],
      { echoConsole: false },
    )
    const lines: string[] = []
    scheduler.events.on('run:log', (e) => lines.push(`${e.level} ${e.text}`))
    await scheduler.start()
    await clock.advanceTo(T0 + 1_000)
    await new Promise((resolve) => setTimeout(resolve, 20))
    await flushCallbacks()
    expect(lines).toEqual(['info hello there', 'error from a timer'])
    const [row] = await runs(store, 'chatty')
    expect(JSON.parse(row?.output ?? '[]').map((l: { text: string }) => l.text)).toEqual([
      'hello there',
      'from a timer',
    ])
    // Outside any job, console output is the process's own: no run:log.
    console.error('outside any job')
    expect(lines).toHaveLength(2)
  })

  it("a listener's own console output is not the job's, even when the job's code emitted the event", async () => {
    const { clock, store, scheduler } = await setup(
      [{ name: 'once', schedule: '* * * * * *', run: (ctx) => ctx.log.warn('from the job') }],
      { echoConsole: false },
    )
    let events = 0
    scheduler.events.on('run:log', (e) => {
      events++
      console.log(`listener saw ${e.level} from run ${e.runId}`)
    })
    await scheduler.start()
    await clock.advanceTo(T0 + 1_000)
    await flushCallbacks()
    expect(events).toBe(1)
    const [row] = await runs(store, 'once')
    expect(JSON.parse(row?.output ?? '[]').map((l: { text: string }) => l.text)).toEqual(['from the job'])
  })
})

describe('a job still executing when the stop closed the store', () => {
  /** A scheduler that opens (and so closes) a state file of its own, as start-scheduler's does. */
  async function ownedStore(jobs: JobDefinition[]) {
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-closed-'))
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }))
    const state = path.join(dir, 'crons.db')
    const config = validateConfig({ timezone: 'UTC', state, jobs }, { file: 'test' })
    const clock = new FakeClock(T0)
    const scheduler = new Scheduler(config, { clock, random: () => 0, openStore: (where) => openStore(where) })
    const errors: string[] = []
    scheduler.events.on('engine:error', (e) => errors.push(e.message))
    const read = async () => {
      const store = await openStore(state, { readonly: true })
      try {
        return await runs(store, jobs[0]?.name ?? '')
      } finally {
        await store.close()
      }
    }
    return { clock, scheduler, errors, read }
  }

  it('ends after it: nothing is written to the closed store and no error is reported', async () => {
    let end!: () => void
    const ended = new Promise<void>((resolve) => {
      end = resolve
    })
    const { clock, scheduler, errors, read } = await ownedStore([
      { name: 'stubborn', schedule: '* * * * * *', run: () => ended },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 1_000)
    await scheduler.stop({ graceMs: 0 })
    end()
    await new Promise((resolve) => setTimeout(resolve, 20))
    await flushCallbacks()
    expect(errors).toEqual([])
    expect(await read()).toMatchObject([{ status: 'interrupted', active: false }])
  })

  it('raises a stray error after it: reported once as not recorded, never as "written again"', async () => {
    const bus = strayBus()
    const { clock, scheduler, errors, read } = await ownedStore([
      {
        name: 'leaky',
        schedule: '* * * * * *',
        run: () => {
          setTimeout(() => bus.raise(new Error('late timer')), 30)
          return new Promise(() => {})
        },
      },
    ])
    cleanups.push(reportStrayErrors(scheduler.events, bus))
    await scheduler.start()
    await clock.advanceTo(T0 + 1_000)
    await scheduler.stop({ graceMs: 0 })
    await new Promise((resolve) => setTimeout(resolve, 60))
    await flushCallbacks()
    expect(errors).toEqual([expect.stringMatching(/^run \d+ changed after the scheduler stopped; not recorded \(/)])
    expect(errors.join('\n')).not.toMatch(/written again/)
    expect(await read()).toMatchObject([{ status: 'interrupted', active: false }])
  })
})

describe('a timeout', () => {
  it('is recorded as "timed out after 0.5s" with no engine stack', async () => {
    const { clock, store, scheduler } = await setup([
      { name: 'slow', schedule: '* * * * * *', timeout: '500ms', run: () => new Promise(() => {}) },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 1_600)
    const [row] = await runs(store, 'slow')
    expect(row).toMatchObject({ status: 'timed_out', errorMessage: 'timed out after 0.5s', errorStack: null })
  })
})

describe('adding and removing jobs at run time', () => {
  it('remove() stops a job being scheduled; add() of a disabled job does not schedule it', async () => {
    const fired: string[] = []
    const { clock, scheduler } = await setup([
      { name: 'a', schedule: '* * * * * *', run: () => void fired.push('a') },
      { name: 'b', schedule: '* * * * * *', run: () => void fired.push('b') },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 1_000)
    expect(fired.sort()).toEqual(['a', 'b'])
    expect(scheduler.remove('a')).toBe(true)
    expect(scheduler.remove('nope')).toBe(false)
    await scheduler.add({ name: 'b', schedule: '* * * * * *', enabled: false, run: () => void fired.push('b2') })
    await scheduler.add({ name: 'c', schedule: '* * * * * *', enabled: false, run: () => void fired.push('c') })
    fired.length = 0
    await clock.advance(3_000)
    expect(fired).toEqual([])
    expect(scheduler.list().map((j) => j.name)).toEqual([])
  })
})

describe('a disabled job', () => {
  it('runJob() refuses it with JOB_DISABLED unless forced', async () => {
    const { scheduler } = await setup([{ name: 'off', schedule: '@daily', enabled: false, run: () => 'ran' }])
    await expect(scheduler.runJob('off')).rejects.toMatchObject({ code: 'JOB_DISABLED' })
    expect(await scheduler.runJob('off', { force: true })).toMatchObject({ status: 'succeeded' })
  })
})

describe('a paused stretch as the views show it', () => {
  it('is one skipped entry whose reason says paused and how many slots, not missed slots', async () => {
    const { attemptView } = await import('../../src/core/views.js')
    const { clock, store, scheduler } = await setup([{ name: 'p', schedule: '* * * * * *', run: () => {} }])
    await scheduler.start()
    await store.setPaused('p', true, clock.now())
    await clock.advance(3_000)
    const [row] = await runs(store, 'p')
    expect(attemptView(row as AttemptRecord)).toMatchObject({
      status: 'skipped',
      reason: `paused (3 slots: ${new Date(T0 + 1_000).toISOString()} to ${new Date(T0 + 3_000).toISOString()})`,
    })
  })
})

describe('the library answers as the CLI does', () => {
  it('pause(), resume(), runs(), run() and nextRuns() give the --json shapes', async () => {
    const { clock, scheduler } = await setup([{ name: 'tick', schedule: '* * * * * *', run: () => 'ok' }])
    await scheduler.start()
    await clock.advanceTo(T0 + 2_000)
    expect(await scheduler.pause('tick')).toEqual({
      job: 'tick',
      paused: true,
      changed: true,
      pausedAt: new Date(T0 + 2_000).toISOString(),
    })
    await clock.advance(2_000)
    expect(await scheduler.resume('tick')).toEqual({ job: 'tick', paused: false, changed: true, pausedAt: null })
    await expect(scheduler.pause('tock')).rejects.toMatchObject({ code: 'JOB_UNKNOWN' })
    const listed = await scheduler.runs({ job: 'tick' })
    expect(listed.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'skipped'])
    expect(listed[0]).toMatchObject({ job: 'tick', slot: new Date(T0 + 1_000).toISOString(), trigger: 'schedule' })
    // The job's return value, not the JSON text it is stored as.
    expect(await scheduler.run(listed[0]?.id as number)).toMatchObject({ id: listed[0]?.id, result: 'ok' })
    // The paused stretch's record: the slots it stands for, with ISO instants.
    expect((await scheduler.run(listed[2]?.id as number))?.detail).toEqual({
      paused: true,
      count: 2,
      first: new Date(T0 + 3_000).toISOString(),
      last: new Date(T0 + 4_000).toISOString(),
    })
    expect(await scheduler.run(999)).toBeUndefined()
    expect(JSON.parse(JSON.stringify(scheduler.nextRuns()))).toEqual([
      { job: 'tick', nextRun: new Date(T0 + 5_000).toISOString() },
    ])
  })
})
