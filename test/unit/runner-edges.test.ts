/**
 * One run's path at its edges: retries and their backoff, cancel, runJob, pause/remove/reload, timeouts
 * and hooks, a stop while a beforeRun hook runs, stray errors after the record. Each checks what is
 * recorded and what the hooks hear.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { HookContext, Hooks, JobDefinition } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { FakeClock, flushCallbacks } from '../../src/core/clock.js'
import { Scheduler, type SchedulerOptions } from '../../src/core/scheduler.js'
import { reportStrayErrors } from '../../src/core/stray.js'
import { openStore } from '../../src/store/index.js'
import type { AttemptRecord, Store } from '../../src/store/types.js'
import { strayBus } from './stray-bus.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const MIN = 60_000
const cleanups: (() => Promise<void> | void)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function setup(
  jobs: JobDefinition[],
  options: SchedulerOptions & { store?: Store; hooks?: Hooks; keepStore?: boolean } = {},
) {
  const clock = (options.clock as FakeClock | undefined) ?? new FakeClock(T0)
  const store = options.store ?? (await openStore(':memory:'))
  const config = validateConfig({ timezone: 'UTC', hooks: options.hooks ?? {}, jobs }, { file: 'test' })
  const { hooks: _h, keepStore: _k, ...rest } = options
  const scheduler = new Scheduler(config, { random: () => 0, instanceId: 'inst-1', ...rest, clock, store })
  const errors: string[] = []
  scheduler.events.on('engine:error', (e) => errors.push(e.message))
  cleanups.push(async () => {
    await scheduler.stop({ graceMs: 0 }).catch(() => undefined)
    if (!options.keepStore) await store.close().catch(() => undefined)
  })
  return { clock, store, scheduler, errors }
}

function deferred<T = void>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

async function runs(store: Store, job: string): Promise<AttemptRecord[]> {
  return (await store.listRuns({ job, limit: 1000 })).reverse()
}

/** Settles, or 'pending' after `ms` of real time. */
async function within<T>(promise: Promise<T>, ms = 200): Promise<T | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))])
}

describe('stray errors after the record', () => {
  it('a stray error of a failed attempt after its retry began does not bring its pending retry back', async () => {
    const bus = strayBus()
    // Fired by the test; its `then` runs in attempt 1's scope.
    const late = deferred()
    let calls = 0
    const store = await openStore(':memory:')
    const job: JobDefinition = {
      name: 'flaky',
      schedule: '0 0 1 1 *',
      retry: { max: 1, backoff: 'constant', initial: '1m' },
      run: () => {
        calls++
        if (calls === 1) {
          void late.promise.then(() => bus.raise(new Error('late timer')))
          throw new Error('down')
        }
        return 'ok'
      },
    }
    const first = await setup([job], { store, keepStore: true })
    cleanups.push(reportStrayErrors(first.scheduler.events, bus))
    const result = first.scheduler.runJob('flaky')
    await first.clock.advance(2 * MIN)
    expect(await result).toMatchObject({ status: 'succeeded', attempts: 2 })
    expect(calls).toBe(2)
    // Attempt 1's leftover timer throws after its retry has run.
    late.resolve()
    await flushCallbacks()
    expect((await runs(store, 'flaky')).map((r) => [r.attempt, r.status])).toEqual([
      [1, 'failed'],
      [2, 'succeeded'],
    ])
    await first.scheduler.stop({ graceMs: 0 })
    // A later scheduler on the same state does not run attempt 2 again.
    const second = await setup([job], { store, instanceId: 'inst-2', clock: first.clock })
    await second.scheduler.start()
    await second.clock.advance(MIN)
    expect(calls).toBe(2)
  })

  it("a stray error after a timed-out attempt's code settled does not hold the job again", async () => {
    const bus = strayBus()
    const settle = deferred()
    const late = deferred()
    let calls = 0
    const { clock, store, scheduler } = await setup([
      {
        name: 'slow',
        schedule: '* * * * *',
        timeout: '5s',
        run: () => {
          calls++
          if (calls > 1) return 'ok'
          void late.promise.then(() => bus.raise(new Error('late timer')))
          return settle.promise
        },
      },
    ])
    cleanups.push(reportStrayErrors(scheduler.events, bus))
    await scheduler.start()
    await clock.advanceTo(T0 + MIN + 10_000)
    settle.resolve()
    await flushCallbacks()
    expect((await runs(store, 'slow')).map((r) => [r.status, r.active])).toEqual([['timed_out', false]])
    late.resolve()
    await flushCallbacks()
    // The next two slots find the job free: its code ended minutes ago.
    await clock.advanceTo(T0 + 3 * MIN + 1_000)
    expect((await runs(store, 'slow')).map((r) => [r.status, r.active])).toEqual([
      ['timed_out', false],
      ['succeeded', false],
      ['succeeded', false],
    ])
  })
})

describe('a hook failure after a stray error', () => {
  it('a failing afterRun hook does not erase the error a stray after the record added', async () => {
    const bus = strayBus()
    const late = deferred()
    const hookGate = deferred()
    const { clock, store, scheduler } = await setup(
      [
        {
          name: 'returned',
          schedule: '@yearly',
          run: () => {
            void late.promise.then(() => bus.raise(new Error('late timer')))
            return 'done'
          },
        },
      ],
      {
        hooks: {
          afterRun: async () => {
            await hookGate.promise
            throw new Error('hook down')
          },
        },
      },
    )
    cleanups.push(reportStrayErrors(scheduler.events, bus))
    const result = scheduler.runJob('returned')
    await flushCallbacks()
    late.resolve()
    await flushCallbacks()
    expect((await runs(store, 'returned'))[0]).toMatchObject({
      status: 'succeeded',
      errorMessage: 'uncaught error after the attempt ended: late timer',
    })
    hookGate.resolve()
    await result
    await flushCallbacks()
    const [row] = await runs(store, 'returned')
    expect(row?.output).toContain('hook afterRun failed: hook down')
    expect(row).toMatchObject({
      status: 'succeeded',
      errorMessage: 'uncaught error after the attempt ended: late timer',
    })
    void clock
  })
})

describe('a stop while a beforeRun hook runs', () => {
  it('a second stop() ends at once; the job whose beforeRun was hurried is not called after it', async () => {
    const called: number[] = []
    const gate = deferred()
    const { store, scheduler } = await setup(
      [
        {
          name: 'hooked',
          schedule: '@yearly',
          run: () => {
            called.push(1)
            return gate.promise
          },
        },
      ],
      { hooks: { beforeRun: () => new Promise(() => {}) } },
    )
    void scheduler.runJob('hooked')
    await flushCallbacks()
    expect(await store.activeRuns()).toHaveLength(1)
    const first = scheduler.stop({ graceMs: 0 })
    await flushCallbacks()
    // A second stop: "waits for nothing more, hooks included".
    const ended = await within(scheduler.stop())
    const calledAfterStop = called.length
    gate.resolve()
    await first
    expect(calledAfterStop).toBe(0)
    expect(ended).not.toBe('pending')
  })

  it('after the grace, a job still in its beforeRun hook is recorded interrupted, not started', async () => {
    const called: number[] = []
    const gate = deferred()
    const { clock, store, scheduler } = await setup(
      [
        {
          name: 'hooked',
          schedule: '@yearly',
          run: () => {
            called.push(clock.now())
            return gate.promise
          },
        },
      ],
      { hooks: { beforeRun: () => new Promise(() => {}) } },
    )
    void scheduler.runJob('hooked')
    await flushCallbacks()
    const stopped = scheduler.stop({ graceMs: 1_000 })
    // The grace ends at +1 s; the hook's own bound (10 s) ends at +10 s.
    await clock.advance(11_000)
    const ended = await within(stopped)
    const calledAt = [...called]
    gate.resolve()
    await stopped
    const rows = (await runs(store, 'hooked')).map((r) => r.status)
    expect(calledAt).toEqual([])
    expect(ended).not.toBe('pending')
    expect(rows).toEqual(['interrupted'])
  })
})

describe('a retry skipped by the overlap guard ends the run', () => {
  it('a timed-out attempt whose retry the overlap guard skips: the hooks hear the run end (final once)', async () => {
    const seen: [number, string, boolean | undefined, boolean | undefined][] = []
    const record = (ctx: HookContext) => seen.push([ctx.attempt, ctx.status ?? '', ctx.willRetry, ctx.final])
    const { clock, store, scheduler } = await setup(
      [
        {
          name: 'hang',
          schedule: '0 * * * *',
          timeout: '5s',
          retry: { max: 2, backoff: 'constant', initial: '1s' },
          run: () => new Promise(() => {}),
        },
      ],
      { hooks: { onError: record } },
    )
    await scheduler.start()
    await clock.advanceTo(T0 + 60 * MIN + 30_000)
    expect((await runs(store, 'hang')).map((r) => [r.attempt, r.status])).toEqual([
      [1, 'timed_out'],
      [2, 'skipped'],
    ])
    // The run is over (its result is the timeout): an alert gated on `final` must fire once.
    expect(seen.filter(([, , , final]) => final === true)).toHaveLength(1)
  })

  it('a failed attempt whose retry is skipped because runJob() started meanwhile: final is heard once', async () => {
    const seen: [number, string, boolean | undefined, boolean | undefined][] = []
    const record = (ctx: HookContext) => seen.push([ctx.attempt, ctx.trigger, ctx.willRetry, ctx.final])
    let calls = 0
    const { clock, store, scheduler } = await setup(
      [
        {
          name: 'flaky',
          schedule: '0 * * * *',
          retry: { max: 1, backoff: 'constant', initial: '1m' },
          run: () => {
            calls++
            if (calls === 1) throw new Error('down')
            return new Promise(() => {})
          },
        },
      ],
      { hooks: { onError: record } },
    )
    await scheduler.start()
    await clock.advanceTo(T0 + 60 * MIN + 1_000)
    void scheduler.runJob('flaky')
    await clock.advance(2 * MIN)
    expect((await runs(store, 'flaky')).map((r) => [r.trigger, r.attempt, r.status])).toEqual([
      ['schedule', 1, 'failed'],
      ['manual', 1, 'running'],
      ['schedule', 2, 'skipped'],
    ])
    expect(seen.filter(([, trigger, , final]) => trigger === 'schedule' && final === true)).toHaveLength(1)
  })
})

describe('retries, cancels, timeouts and hooks', () => {
  const flaky = (over: Partial<JobDefinition> = {}, calls: number[] = []): JobDefinition =>
    ({
      name: 'flaky',
      schedule: '0 0 1 1 *',
      retry: { max: 2, backoff: 'constant', initial: '1m' },
      run: () => {
        calls.push(1)
        throw new Error('down')
      },
      ...over,
    }) as JobDefinition

  it('cancel() of the running retry: cancelled, final, no onError, no further retry, no running row', async () => {
    const seen: string[] = []
    const rec = (name: string) => (ctx: HookContext) => {
      seen.push(`${name} ${ctx.attempt} ${ctx.status} ${ctx.willRetry} ${ctx.final}`)
    }
    let calls = 0
    const { clock, store, scheduler } = await setup(
      [
        flaky({
          run: (ctx) => {
            calls++
            if (calls === 1) throw new Error('down')
            return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)))
          },
        }),
      ],
      { hooks: { afterRun: rec('after'), onError: rec('error') } },
    )
    const result = scheduler.runJob('flaky')
    await clock.advance(MIN + 5_000)
    const [, second] = await runs(store, 'flaky')
    expect(second).toMatchObject({ attempt: 2, status: 'running' })
    const cancelled = await scheduler.cancel((second as AttemptRecord).id)
    expect(cancelled).toMatchObject({ status: 'cancelled' })
    await clock.advance(10 * MIN)
    expect(await result).toMatchObject({ status: 'cancelled', attempts: 2 })
    expect(calls).toBe(2)
    const rows = await runs(store, 'flaky')
    expect(rows.map((r) => [r.attempt, r.status, r.active, r.durationMs])).toEqual([
      [1, 'failed', false, 0],
      [2, 'cancelled', false, 5_000],
    ])
    expect(seen).toEqual(['after 1 failed true false', 'error 1 failed true false', 'after 2 cancelled false true'])
  })

  it('cancel() of the failed attempt during its backoff cancels its retry: recorded cancelled, never run', async () => {
    const calls: number[] = []
    const { clock, store, scheduler } = await setup([
      flaky({ retry: { max: 1, backoff: 'constant', initial: '1m' } }, calls),
    ])
    const result = scheduler.runJob('flaky')
    await clock.advance(1_000)
    const [row] = await runs(store, 'flaky')
    await expect(scheduler.cancel((row as AttemptRecord).id)).resolves.toMatchObject({
      attempt: 2,
      status: 'cancelled',
    })
    await clock.advance(2 * MIN)
    expect(await result).toMatchObject({ status: 'cancelled', attempts: 2 })
    expect(calls).toHaveLength(1)
  })

  it('remove(), pause() and reload() during the backoff: the run goes on with its definition; no row left running', async () => {
    const calls: number[] = []
    const { clock, store, scheduler } = await setup([flaky({}, calls)])
    const result = scheduler.runJob('flaky')
    await clock.advance(1_000)
    await scheduler.pause('flaky')
    scheduler.remove('flaky')
    await scheduler.reload({ jobs: [{ name: 'other', schedule: '@yearly', run: () => 1 }] })
    await clock.advance(5 * MIN)
    expect(await result).toMatchObject({ status: 'failed', attempts: 3 })
    expect(calls).toHaveLength(3)
    expect(await store.activeRuns()).toEqual([])
  })

  it('runJob() while a retry waits: it runs (nothing holds the job), with force too; every run ends', async () => {
    const calls: number[] = []
    const { clock, store, scheduler } = await setup([
      flaky({ retry: { max: 1, backoff: 'constant', initial: '1m' } }, calls),
    ])
    const first = scheduler.runJob('flaky')
    await clock.advance(1_000)
    const manual = scheduler.runJob('flaky')
    const forced = scheduler.runJob('flaky', { force: true })
    await clock.advance(5 * MIN)
    expect(await manual).toMatchObject({ status: 'failed', attempts: 2 })
    expect(await forced).toMatchObject({ status: 'failed', attempts: 2 })
    expect(calls).toHaveLength(6)
    expect(await first).toMatchObject({ status: 'failed', attempts: 2 })
    expect(await store.activeRuns()).toEqual([])
  })

  it('a job whose signal aborts at the timeout and that then throws is recorded timed_out, retried, released', async () => {
    const finished: string[] = []
    const { clock, store, scheduler } = await setup([
      flaky({
        timeout: '5s',
        retry: { max: 1, backoff: 'constant', initial: '1s' },
        run: async (ctx) => {
          await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))
          throw new Error('threw after its signal aborted')
        },
      }),
    ])
    scheduler.events.on('run:finished', (e) =>
      finished.push(`${e.attempt} ${e.status} ${e.error?.message} ${e.retryInMs}`),
    )
    const result = scheduler.runJob('flaky')
    await clock.advance(30_000)
    expect(await result).toMatchObject({ status: 'timed_out', attempts: 2 })
    expect(finished).toEqual(['1 timed_out timed out after 5s 1000', '2 timed_out timed out after 5s undefined'])
    expect((await runs(store, 'flaky')).map((r) => [r.status, r.durationMs])).toEqual([
      ['timed_out', 5_000],
      ['timed_out', 5_000],
    ])
  })

  it('a job that rejects after its signal aborted at the timeout: timed_out, its row released, its retry runs', async () => {
    const { clock, store, scheduler } = await setup([
      flaky({
        timeout: '5s',
        retry: { max: 1, backoff: 'constant', initial: '1s' },
        run: (ctx) =>
          new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('gave up')))),
      }),
    ])
    const result = scheduler.runJob('flaky')
    await clock.advance(30_000)
    expect(await result).toMatchObject({ status: 'timed_out', attempts: 2, error: { message: 'timed out after 5s' } })
    expect((await runs(store, 'flaky')).map((r) => [r.status, r.active, r.errorMessage])).toEqual([
      ['timed_out', false, 'timed out after 5s'],
      ['timed_out', false, 'timed out after 5s'],
    ])
  })

  it('a job that resolves on the instant of its timeout succeeds; one that rejects 1 ms later is timed_out', async () => {
    let n = 0
    let clockRef!: FakeClock
    const { clock, store, scheduler } = await setup([
      flaky({
        timeout: '5s',
        retry: { max: 0 },
        run: () => {
          n++
          const late = n === 2
          return new Promise((resolve, reject) =>
            clockRef.setTimeout(() => (late ? reject(new Error('late')) : resolve('ok')), late ? 5_001 : 5_000),
          )
        },
      }),
    ])
    clockRef = clock
    const a = scheduler.runJob('flaky')
    await clock.advance(10_000)
    expect(await a).toMatchObject({ status: 'succeeded' })
    const b = scheduler.runJob('flaky')
    await clock.advance(10_000)
    expect(await b).toMatchObject({ status: 'timed_out' })
    expect((await runs(store, 'flaky')).map((r) => [r.status, r.durationMs, r.active])).toEqual([
      ['succeeded', 5_000, false],
      ['timed_out', 5_000, false],
    ])
  })

  it('hooks that throw on every attempt: retries go on, flags right, each failure in its attempt output', async () => {
    const seen: string[] = []
    const { clock, store, scheduler } = await setup([flaky({}, [])], {
      hooks: {
        beforeRun: () => {
          throw new Error('before down')
        },
        onError: (ctx) => {
          seen.push(`${ctx.attempt} ${ctx.willRetry} ${ctx.final}`)
          throw new Error('onError down')
        },
      },
    })
    const result = scheduler.runJob('flaky')
    await clock.advance(5 * MIN)
    expect(await result).toMatchObject({ status: 'failed', attempts: 3 })
    expect(seen).toEqual(['1 true false', '2 true false', '3 false true'])
    for (const row of await runs(store, 'flaky')) {
      expect(row.output).toContain('hook beforeRun failed: before down')
      expect(row.output).toContain('hook onError failed: onError down')
      expect(row.errorMessage).toBe('down')
    }
  })

  it('a timeout while the onError hook hangs: the hook is bounded, the retry follows, no row running', async () => {
    const { clock, store, scheduler } = await setup(
      [flaky({ timeout: '1s', run: () => new Promise(() => {}), overlap: 'allow' })],
      {
        hooks: { onError: () => new Promise(() => {}) },
      },
    )
    const result = scheduler.runJob('flaky')
    await clock.advance(5 * MIN)
    expect(await result).toMatchObject({ status: 'timed_out', attempts: 3 })
    const rows = await runs(store, 'flaky')
    expect(rows.map((r) => r.status)).toEqual(['timed_out', 'timed_out', 'timed_out'])
    expect(rows.every((r) => r.output?.includes('hook onError failed: did not finish within 10s'))).toBe(true)
  })

  it('an afterRun hook that calls runJob() for its own job (final attempt): the manual run is recorded normally', async () => {
    let manual: Promise<unknown> | undefined
    let scheduler!: Scheduler
    const h = await setup([flaky({ schedule: '* * * * *', retry: { max: 0 } })], {
      hooks: {
        afterRun: (ctx) => {
          if (ctx.trigger === 'schedule') manual = scheduler.runJob('flaky')
        },
      },
    })
    scheduler = h.scheduler
    await scheduler.start()
    await h.clock.advanceTo(T0 + MIN + 1_000)
    expect(await manual).toMatchObject({ status: 'failed' })
    expect((await runs(h.store, 'flaky')).slice(0, 2).map((r) => [r.trigger, r.status])).toEqual([
      ['schedule', 'failed'],
      ['manual', 'failed'],
    ])
  })

  it('stop() during the attempt of a retry: interrupted, final heard, no row running after', async () => {
    const seen: string[] = []
    let calls = 0
    const { clock, store, scheduler } = await setup(
      [
        flaky({
          run: () => {
            calls++
            if (calls === 1) throw new Error('down')
            return new Promise(() => {})
          },
        }),
      ],
      { hooks: { onError: (ctx) => void seen.push(`${ctx.attempt} ${ctx.status} ${ctx.final}`) } },
    )
    const result = scheduler.runJob('flaky')
    await clock.advance(MIN + 1_000)
    await scheduler.stop({ graceMs: 0 })
    expect(await result).toMatchObject({ status: 'interrupted', attempts: 2 })
    expect(seen).toEqual(['1 failed false', '2 interrupted true'])
    expect((await runs(store, 'flaky')).map((r) => [r.status, r.active])).toEqual([
      ['failed', false],
      ['interrupted', false],
    ])
  })
})
