/**
 * `scheduler.cancel(runId)`: the attempt's signal aborted with a reason saying it was cancelled, the
 * row recorded `cancelled` through the one recording path, no retry, hooks told it was final, the
 * overlap guard held until the code settles; a run of another process (or not started here yet)
 * cancelled through a request its owner acts on at its heartbeat; one-line refusals otherwise.
 */
import { spawnSync } from 'node:child_process'
import { hostname } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import type { HookContext, Hooks, JobDefinition } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { cancelInState, cancelRun } from '../../src/core/cancel.js'
import { FakeClock, flushCallbacks } from '../../src/core/clock.js'
import { Scheduler } from '../../src/core/scheduler.js'
import { CronsError } from '../../src/errors.js'
import { openStore, SCHEMA_VERSION } from '../../src/store/index.js'
import type { AttemptRecord, Store } from '../../src/store/types.js'
import { olderStateFile, removeTempDirs, storeWith, tempDir } from '../store/helpers.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const schedulers: Scheduler[] = []

afterAll(removeTempDirs)
afterEach(async () => {
  for (const s of schedulers.splice(0)) await s.stop({ graceMs: 0 })
})

async function setup(
  jobs: JobDefinition[],
  options: {
    hooks?: Hooks
    store?: Store
    clock?: FakeClock
    id?: string
    lease?: { heartbeatMs: number; instanceTtlMs: number }
  } = {},
) {
  const clock = options.clock ?? new FakeClock(T0)
  const store = options.store ?? (await openStore(':memory:'))
  const config = validateConfig({ timezone: 'UTC', hooks: options.hooks ?? {}, jobs }, { file: 'test' })
  const scheduler = new Scheduler(config, {
    clock,
    store,
    instanceId: options.id ?? 'here',
    random: () => 0,
    ...options.lease,
  })
  schedulers.push(scheduler)
  return { clock, store, scheduler }
}

function deferred() {
  let resolve!: () => void
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

async function runsOf(store: Store, job: string): Promise<AttemptRecord[]> {
  return (await store.listRuns({ job, limit: 100 })).reverse()
}

/** The rejection of `promise`, which must be a one-line CronsError. */
async function refusal(promise: Promise<unknown>): Promise<CronsError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  )
  expect(error).toBeInstanceOf(CronsError)
  expect((error as CronsError).message).not.toContain('\n')
  return error as CronsError
}

describe('cancelling a run', () => {
  it('aborts the signal, records cancelled with no retry, holds the job until its code settles, then later slots run', async () => {
    const gate = deferred()
    const reasons: unknown[] = []
    let calls = 0
    const finished: string[] = []
    const { clock, store, scheduler } = await setup([
      {
        name: 'slow',
        schedule: '*/10 * * * * *',
        retry: { max: 3, backoff: 'constant', initial: 1 },
        run: (ctx) => {
          calls++
          if (calls > 1) return undefined
          // Ignores its signal: the attempt is recorded cancelled all the same.
          ctx.signal.addEventListener('abort', () => reasons.push(ctx.signal.reason))
          return gate.promise
        },
      },
    ])
    scheduler.events.on('run:finished', (e) => void finished.push(`${e.attempt} ${e.status}`))
    await scheduler.start()
    await clock.advanceTo(T0 + 12_000)
    const [running] = await store.activeRuns()
    expect(running).toMatchObject({ job: 'slow', status: 'running' })
    const id = (running as AttemptRecord).id

    const cancelled = await scheduler.cancel(id)
    expect(cancelled).toMatchObject({ id, job: 'slow', status: 'cancelled', active: true })
    expect(cancelled.error?.message).toBe('cancelled by request')
    expect(reasons).toHaveLength(1)
    expect(reasons[0]).toBeInstanceOf(Error)
    expect((reasons[0] as Error).name).toBe('AbortError')
    expect((reasons[0] as Error).message).toBe('cancelled by request')
    expect(finished).toEqual(['1 cancelled'])

    // No retry, however long the backoff; the next slot is skipped: the code has not stopped.
    await clock.advanceTo(T0 + 25_000)
    let rows = await runsOf(store, 'slow')
    expect(rows.map((r) => [r.slot - T0, r.attempt, r.status])).toEqual([
      [10_000, 1, 'cancelled'],
      [20_000, 1, 'skipped'],
    ])

    // Its code settles: the guard is released, the row stays cancelled, the next slot runs.
    gate.resolve()
    await flushCallbacks()
    expect(await store.getRun(id)).toMatchObject({ status: 'cancelled', active: false })
    await clock.advanceTo(T0 + 31_000)
    rows = await runsOf(store, 'slow')
    expect(rows.map((r) => [r.slot - T0, r.status])).toEqual([
      [10_000, 'cancelled'],
      [20_000, 'skipped'],
      [30_000, 'succeeded'],
    ])
    expect(calls).toBe(2)
  })

  it('a job that honours its signal settles at once; the reason given is in the record', async () => {
    const { clock, store, scheduler } = await setup([
      {
        name: 'polite',
        schedule: '@yearly',
        retry: { max: 2, backoff: 'constant', initial: 1 },
        run: (ctx) =>
          new Promise<void>((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
      },
    ])
    const result = scheduler.runJob('polite')
    await flushCallbacks()
    const [running] = await store.activeRuns()
    const view = await scheduler.cancel((running as AttemptRecord).id, { reason: 'deploy in progress' })
    expect(view).toMatchObject({ status: 'cancelled', error: { message: 'cancelled: deploy in progress' } })
    await flushCallbacks()
    expect(await result).toMatchObject({ status: 'cancelled', attempts: 1 })
    expect(await store.getRun((running as AttemptRecord).id)).toMatchObject({ status: 'cancelled', active: false })
    await clock.advance(10_000)
    expect((await runsOf(store, 'polite')).map((r) => r.status)).toEqual(['cancelled'])
  })

  it('hooks see a cancel as final: afterRun runs, onError does not', async () => {
    const after: Partial<HookContext>[] = []
    const errors: number[] = []
    const { store, scheduler } = await setup(
      [
        {
          name: 'hooked',
          schedule: '@yearly',
          retry: { max: 1, backoff: 'constant', initial: 1 },
          run: (ctx) => new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve())),
        },
      ],
      {
        hooks: {
          afterRun: (ctx) => void after.push({ status: ctx.status, willRetry: ctx.willRetry, final: ctx.final }),
          onError: (ctx) => void errors.push(ctx.attempt),
        },
      },
    )
    const result = scheduler.runJob('hooked')
    await flushCallbacks()
    const [running] = await store.activeRuns()
    await scheduler.cancel((running as AttemptRecord).id)
    await result
    expect(after).toEqual([{ status: 'cancelled', willRetry: false, final: true }])
    expect(errors).toEqual([])
  })

  it('refuses an unknown run and a finished one, in one line each', async () => {
    const { store, scheduler } = await setup([{ name: 'quick', schedule: '@yearly', run: () => 1 }])
    const unknown = await refusal(scheduler.cancel(999))
    expect(unknown.code).toBe('RUN_UNKNOWN')
    expect(unknown.message).toBe('no run 999 in :memory:')
    const { runId } = await scheduler.runJob('quick')
    const done = await refusal(scheduler.cancel(runId))
    expect(done.code).toBe('RUN_FINISHED')
    expect(done.message).toBe(`run ${runId} of job "quick" is not running: it ended succeeded`)
    expect(await store.getRun(runId)).toMatchObject({ status: 'succeeded' })
    await scheduler.stop({ graceMs: 0 })
    expect((await refusal(scheduler.cancel(runId))).code).toBe('SCHEDULER_STOPPED')
  })

  it('a run of another process: asked of its owner, which cancels it at its next heartbeat', async () => {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const job: JobDefinition = {
      name: 'held',
      schedule: '@yearly',
      run: (ctx) => new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve())),
    }
    const here = await setup([job], { clock, store, id: 'here' })
    const there = await setup([job], { clock, store, id: 'there' })
    const elsewhere = there.scheduler.runJob('held')
    await flushCallbacks()
    const [running] = await store.activeRuns()
    const id = (running as AttemptRecord).id
    expect(running?.instanceId).toBe('there')

    const asked = here.scheduler.cancel(id, { reason: 'asked from here' })
    await flushCallbacks()
    // Nothing happens before the owner's heartbeat (every 10 s).
    expect(await store.getRun(id)).toMatchObject({ status: 'running' })
    await clock.advance(10_000)
    expect(await asked).toMatchObject({ id, status: 'cancelled', error: { message: 'cancelled: asked from here' } })
    expect(await elsewhere).toMatchObject({ status: 'cancelled', attempts: 1 })
  })

  it('a request its owner does not act on in time: one line naming the owner; the request stands', async () => {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const gate = deferred()
    const job: JobDefinition = { name: 'held', schedule: '@yearly', run: () => gate.promise }
    const here = await setup([job], { clock, store, id: 'here' })
    const there = await setup([job], {
      clock,
      store,
      id: 'there',
      lease: { heartbeatMs: 60_000, instanceTtlMs: 120_000 },
    })
    const elsewhere = there.scheduler.runJob('held')
    await flushCallbacks()
    const id = ((await store.activeRuns())[0] as AttemptRecord).id
    const waiting = refusal(here.scheduler.cancel(id, { waitMs: 5_000 }))
    await clock.advance(5_000)
    const pending = await waiting
    expect(pending.code).toBe('CANCEL_PENDING')
    expect(pending.message).toMatch(
      new RegExp(
        `^run ${id} of job "held" runs on instance there \\(host .+, pid ${process.pid}\\), which has not acted on the cancel within 5s; the request stands$`,
      ),
    )
    expect(await store.getRun(id)).toMatchObject({ status: 'running' })
    // At its heartbeat the owner cancels it, although nobody waits any more.
    await clock.advanceTo(T0 + 60_000)
    expect(await elsewhere).toMatchObject({ status: 'cancelled' })
    expect(await store.getRun(id)).toMatchObject({ status: 'cancelled', errorMessage: 'cancelled by request' })
    gate.resolve()
  })

  it('a run of this process whose code is not called yet (in its beforeRun hook) is cancelled once it runs', async () => {
    const hook = deferred()
    const called: string[] = []
    const { clock, store, scheduler } = await setup(
      [
        {
          name: 'hooked',
          schedule: '@yearly',
          run: (ctx) => {
            called.push('run')
            return new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()))
          },
        },
      ],
      { hooks: { beforeRun: () => hook.promise } },
    )
    const result = scheduler.runJob('hooked')
    await flushCallbacks()
    const id = ((await store.activeRuns())[0] as AttemptRecord).id
    const asked = scheduler.cancel(id)
    await flushCallbacks()
    hook.resolve()
    await flushCallbacks()
    expect(called).toEqual(['run'])
    await clock.advance(10_000)
    expect(await asked).toMatchObject({ id, status: 'cancelled' })
    expect(await result).toMatchObject({ status: 'cancelled' })
  })

  it('a timed-out attempt whose code still runs is no longer running: refused', async () => {
    const gate = deferred()
    const { clock, store, scheduler } = await setup([
      { name: 'late', schedule: '@yearly', timeout: 1, run: () => gate.promise },
    ])
    const result = scheduler.runJob('late')
    await clock.advance(1_000)
    expect(await result).toMatchObject({ status: 'timed_out' })
    const [row] = await store.activeRuns()
    const error = await refusal(scheduler.cancel((row as AttemptRecord).id))
    expect(error.code).toBe('RUN_FINISHED')
    expect(error.message).toMatch(/is not running: it ended timed_out$/)
    gate.resolve()
  })

  /** A job retried after 60 s (`max` retries) whose code is `run`. */
  const retried = (run: JobDefinition['run'], max = 2): JobDefinition =>
    ({ name: 'flaky', schedule: '@yearly', retry: { max, backoff: 'constant', initial: '60s' }, run }) as JobDefinition
  const failing = (count: () => void) => () => {
    count()
    throw new Error('boom')
  }

  it('a failed attempt whose retry waits out its backoff here: the backoff ends, the retry is recorded cancelled, hooks told final', async () => {
    const after: Partial<HookContext>[] = []
    let calls = 0
    const { clock, store, scheduler } = await setup([retried(failing(() => calls++))], {
      hooks: {
        afterRun: (ctx) =>
          void after.push({ attempt: ctx.attempt, status: ctx.status, willRetry: ctx.willRetry, final: ctx.final }),
      },
    })
    const result = scheduler.runJob('flaky')
    await flushCallbacks()
    const [failed] = await runsOf(store, 'flaky')
    expect(failed).toMatchObject({ status: 'failed', attempt: 1 })
    const waiting = clock.pending
    const cancelled = await scheduler.cancel((failed as AttemptRecord).id, { reason: 'enough' })
    expect(cancelled).toMatchObject({ attempt: 2, status: 'cancelled', error: { message: 'cancelled: enough' } })
    expect(await result).toMatchObject({ runId: cancelled.id, status: 'cancelled', attempts: 2 })
    // The backoff's timer is gone with it.
    expect(clock.pending).toBe(waiting - 1)
    expect(after).toEqual([
      { attempt: 1, status: 'failed', willRetry: true, final: false },
      { attempt: 2, status: 'cancelled', willRetry: false, final: true },
    ])
    await clock.advance(600_000)
    expect(calls).toBe(1)
    const runs = await runsOf(store, 'flaky')
    expect(runs.map((r) => [r.attempt, r.status, r.active])).toEqual([
      [1, 'failed', false],
      [2, 'cancelled', false],
    ])
    expect(runs[1]).toMatchObject({ startedAt: T0, finishedAt: T0, slot: failed?.slot, trigger: 'manual' })
  })

  it("a pending retry cancelled from another process: the owner's backoff ends without beginning it, hooks hear no more", async () => {
    const after: string[] = []
    let calls = 0
    const { clock, store, scheduler } = await setup([retried(failing(() => calls++))], {
      hooks: { afterRun: (ctx) => void after.push(`${ctx.attempt} ${ctx.status}`) },
    })
    const result = scheduler.runJob('flaky')
    await flushCallbacks()
    const [failed] = await runsOf(store, 'flaky')
    const id = (failed as AttemptRecord).id
    const cancelled = await cancelRun({ store, clock, cancelActive: undefined }, id)
    expect(cancelled).toMatchObject({ attempt: 2, status: 'cancelled', errorMessage: 'cancelled by request' })
    await clock.advance(60_000)
    expect(await result).toMatchObject({ runId: id, status: 'failed', attempts: 1 })
    await clock.advance(600_000)
    expect(calls).toBe(1)
    expect(after).toEqual(['1 failed'])
    expect((await runsOf(store, 'flaky')).map((r) => r.status)).toEqual(['failed', 'cancelled'])
  })

  it('a failed attempt whose retry already began: the running retry is cancelled', async () => {
    let calls = 0
    const { clock, store, scheduler } = await setup([
      retried((ctx) => {
        if (++calls === 1) throw new Error('boom')
        return new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()))
      }),
    ])
    const result = scheduler.runJob('flaky')
    await clock.advance(60_000)
    const [failed, retry] = await runsOf(store, 'flaky')
    expect(retry).toMatchObject({ attempt: 2, status: 'running' })
    const cancelled = await scheduler.cancel((failed as AttemptRecord).id)
    expect(cancelled).toMatchObject({ id: retry?.id, status: 'cancelled' })
    expect(await result).toMatchObject({ status: 'cancelled', attempts: 2 })
  })

  it('a failed attempt with no retry pending is still refused, and nothing is recorded', async () => {
    const { clock, store, scheduler } = await setup([
      retried(
        failing(() => {}),
        1,
      ),
    ])
    const result = scheduler.runJob('flaky')
    await clock.advance(60_000)
    expect(await result).toMatchObject({ status: 'failed', attempts: 2 })
    const [, last] = await runsOf(store, 'flaky')
    const error = await refusal(scheduler.cancel((last as AttemptRecord).id))
    expect(error.code).toBe('RUN_FINISHED')
    expect(error.message).toBe(`run ${last?.id} of job "flaky" is not running: it ended failed`)
    expect((await runsOf(store, 'flaky')).map((r) => r.status)).toEqual(['failed', 'failed'])
  })

  it('a run whose process on this host is gone is recorded interrupted at once, not waited for', async () => {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    // A pid that existed and has exited.
    const pid = spawnSync(process.execPath, ['-e', '']).pid as number
    await store.registerInstance({ id: 'gone', role: 'runner', host: hostname(), pid, now: T0 })
    await store.syncJobs(['held'], T0)
    const begun = await store.beginRun(
      { job: 'held', slot: T0, trigger: 'manual', attempt: 1, overlap: 'skip' },
      'gone',
      T0,
    )
    const id = (begun as { runId: number }).runId
    // No wait at all: without noticing the owner is gone this would be CANCEL_PENDING.
    const error = await refusal(cancelRun({ store, clock, cancelActive: undefined }, id, { waitMs: 0 }))
    expect(error.code).toBe('RUN_FINISHED')
    expect(error.message).toBe(
      `run ${id} of job "held" is not running: its process (host ${hostname()}, pid ${pid}) is gone, so it is now recorded interrupted`,
    )
    expect(await store.getRun(id)).toMatchObject({ status: 'interrupted' })
    expect(await store.activeRuns()).toEqual([])
    await store.close()
  })

  it('from a process that runs nothing, on a state file an older crons wrote: the id is checked once it is upgraded', async () => {
    const file = olderStateFile(
      path.join(tempDir(), 'crons.db'),
      SCHEMA_VERSION - 1,
      `INSERT INTO runs (id, job, slot, "trigger", attempt, status, started_at, finished_at, instance_id, active)
        VALUES (1, 'nightly', ${T0}, 'schedule', 1, 'succeeded', ${T0}, ${T0 + 5}, 'old', 0)`,
    )
    // As `crons cancel` reaches it, and as a library caller would.
    const state = { read: () => openStore(file, { readonly: true }), write: () => openStore(file) }
    const clock = new FakeClock(T0)
    expect(await refusal(cancelInState(state, clock, 1, { waitMs: 0 }))).toMatchObject({
      code: 'RUN_FINISHED',
      message: 'run 1 of job "nightly" is not running: it ended succeeded',
    })
    expect(await refusal(cancelInState(state, clock, 2, { waitMs: 0 }))).toMatchObject({
      code: 'RUN_UNKNOWN',
      message: `no run 2 in ${file}`,
    })
  })

  it('from a process that runs nothing (crons cancel): what it records is on the store clock', async () => {
    const clock = new FakeClock(T0)
    const real = await openStore(':memory:')
    // A store whose clock is 5 minutes ahead of this host's (a database server's).
    const ahead = 300_000
    const store = storeWith(real, { clockOffset: async () => ahead })
    const pid = spawnSync(process.execPath, ['-e', '']).pid as number
    await real.registerInstance({ id: 'gone', role: 'runner', host: hostname(), pid, now: T0 + ahead })
    await real.syncJobs(['held'], T0 + ahead)
    const begun = await real.beginRun(
      { job: 'held', slot: T0 + ahead, trigger: 'manual', attempt: 1, overlap: 'skip' },
      'gone',
      T0 + ahead,
    )
    const id = (begun as { runId: number }).runId
    await clock.advance(2_000)
    const state = { read: async () => store, write: async () => store, release: async () => {} }
    const error = await refusal(cancelInState(state, clock, id, { waitMs: 0 }))
    expect(error.code).toBe('RUN_FINISHED')
    const [owner] = await real.listInstances()
    expect(owner?.reapedAt).toBe(T0 + ahead + 2_000)
    await real.close()
  })
})
