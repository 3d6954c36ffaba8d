/**
 * Runs one logical run of a job: attempts with timeout and retry, hooks around each attempt, every
 * attempt recorded in the store. Nothing a job does (throw, reject, hang, throw a non-Error) can
 * escape into the scheduler.
 */
import type { HookContext, Hooks, ResolvedJob } from '../config/types.js'
import { keepShape } from '../shapes.js'
import type { RunOutcome, RunStatus, Store } from '../store/types.js'
import { Attempt, type AttemptEnv, type Decided, describeError, type RunRequest } from './attempt.js'
import { RetryBackoffs } from './backoff.js'
import type { Clock, TimerHandle } from './clock.js'
import type { EngineEmitter } from './events.js'
import { runHooks } from './hooks.js'
import { type ActiveAttempt, InFlight } from './inflight.js'
import type { OutputBuffer } from './output.js'
import { retryDelayMs } from './retry.js'

export type { RunRequest } from './attempt.js'

export interface RunResult {
  /**
   * The last attempt's row id and status. A retry the overlap guard skipped (the job was still
   * running) is recorded as a `skipped` attempt but is not the result: the run's result stays the
   * failure before it (that attempt's row, status and error), which is what the job's code did.
   */
  runId: number
  status: RunStatus
  /** Attempts whose code was called (or, for a retry cancelled by shutdown, recorded). */
  attempts: number
  error?: { message: string; stack?: string }
}

/** Attempts built ahead of their instant (`Runner.stage`); undefined where a `beforeRun` hook comes first. */
export interface StagedRuns {
  readonly requests: readonly RunRequest[]
  readonly attempts: readonly (Attempt | undefined)[]
}

interface AttemptOutcome {
  status: RunStatus
  error?: { message: string; stack?: string }
  retryInMs?: number
}

interface Deps {
  store: Store
  clock: Clock
  events: EngineEmitter
  instanceId: string
  hooks: Hooks
  random: () => number
}

/** The result of a run whose last attempt (row `runId`, number `attempt`) ended `outcome`. */
function ended(runId: number, attempt: number, outcome: AttemptOutcome): RunResult {
  return { runId, status: outcome.status, attempts: attempt, ...(outcome.error ? { error: outcome.error } : {}) }
}

export class Runner {
  private readonly inFlight = new InFlight()
  private readonly backoffs: RetryBackoffs
  private stopping = false
  private cutShort: (() => void) | undefined

  /** One for all attempts, rather than an object per attempt. */
  private readonly attemptEnv: AttemptEnv

  constructor(private readonly deps: Deps) {
    this.backoffs = new RetryBackoffs(deps.clock)
    this.attemptEnv = { clock: deps.clock, events: deps.events, instanceId: deps.instanceId }
  }

  /** Attempts whose code is still executing in this process, by job name. */
  activeCount(job: string): number {
    return this.inFlight.activeCount(job)
  }

  /** Start a run in the background; the returned promise never rejects. */
  execute(request: RunRequest): Promise<RunResult> {
    return this.track(request, undefined)
  }

  /**
   * Start runs due on the same instant. Every job's code is called first, one after another, with
   * nothing in between; the overlap guard, timeouts and promise handling are set up once all of them
   * have started, so the last job of a big batch starts barely later than the first. Jobs with a
   * `beforeRun` hook start after their hook, as in `execute`.
   */
  executeAll(requests: readonly RunRequest[]): void {
    this.startStaged(this.stage(requests))
  }

  /**
   * Build the attempts (contexts included) of runs to start later with `startStaged`: the scheduler
   * does this when it claims slots ahead of their instant, so that on the instant nothing is left to
   * allocate (and so nothing to set off a garbage collection) before the jobs' code runs.
   */
  stage(requests: readonly RunRequest[]): StagedRuns {
    const attempts: (Attempt | undefined)[] = new Array(requests.length)
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i] as RunRequest
      if (this.hasHook('beforeRun', request.job)) continue
      attempts[i] = new Attempt(request, request.runId, 1, this.attemptEnv)
    }
    return { requests, attempts }
  }

  /** Start runs built by `stage` (see `executeAll`). */
  startStaged({ requests, attempts }: StagedRuns): void {
    let last: Attempt | undefined
    for (const attempt of attempts) {
      if (attempt === undefined) continue
      this.announce(attempt)
      attempt.call()
      last = attempt
    }
    keepShape('attempt', last)
    const ended: Attempt[] = []
    for (let i = 0; i < requests.length; i++) {
      const attempt = attempts[i]
      if (attempt !== undefined && this.endsInCall(attempt)) ended.push(attempt)
      else void this.track(requests[i] as RunRequest, attempt)
    }
    if (ended.length > 0) this.recordEnded(ended)
  }

  /** Decided within its call, with nothing to follow: no afterRun/onError hook, no retry. */
  private endsInCall(begun: Attempt): boolean {
    if (begun.done === undefined) return false
    const { job } = begun.request
    const { status } = begun.done
    return !this.hasAfterHooks(job, status) && !this.willRetry(job, status, begun.attempt)
  }

  /** Whether an attempt that ended `status` is retried (one rule for both recording paths). */
  private willRetry(job: ResolvedJob, status: RunStatus, attempt: number): boolean {
    return (status === 'failed' || status === 'timed_out') && attempt <= job.retry.max && !this.stopping
  }

  /** Whether hooks run after an attempt that ended `status`. */
  private hasAfterHooks(job: ResolvedJob, status: RunStatus): boolean {
    return this.hasHook('afterRun', job) || (status !== 'succeeded' && this.hasHook('onError', job))
  }

  /**
   * Record attempts that ended within their call without the per-run promise chain of `track`: each
   * outcome joins the store's next write, and each distinct write promise (usually one for the whole
   * batch) is tracked for shutdown and reported on. `run:finished` follows the write, as it does for
   * every other attempt.
   */
  private recordEnded(attempts: readonly Attempt[]): void {
    const { events, store } = this.deps
    const writes = new Map<Promise<void>, { begun: Attempt; error: ReturnType<typeof describeError> | undefined }[]>()
    for (const begun of attempts) {
      const decided = begun.done as Decided
      const error = decided.error === undefined ? undefined : describeError(decided.error)
      let written: Promise<void>
      try {
        written = store.finishRun(begun.runId, begun.outcome(decided, begun.doneAt, error, true))
      } catch (thrown) {
        // A store that throws instead of rejecting must not stop the other jobs of the instant.
        written = Promise.reject(thrown)
      }
      const group = writes.get(written)
      if (group) group.push({ begun, error })
      else writes.set(written, [{ begun, error }])
    }
    for (const [written, group] of writes) {
      this.inFlight.runsBegan(group.length)
      const done = () => {
        if (events.listenerCount('run:finished') > 0) {
          for (const { begun, error } of group) {
            const { request, runId, attempt, startedAt, doneAt } = begun
            this.emitFinished(request, runId, attempt, (begun.done as Decided).status, startedAt, doneAt, error)
          }
        }
        this.inFlight.runsEnded(group.length)
      }
      written.then(done, (error: unknown) => {
        for (const { begun } of group) this.recordFailed(begun.runId, error)
        done()
      })
    }
  }

  private async track(request: RunRequest, first: Attempt | undefined): Promise<RunResult> {
    this.inFlight.runsBegan(1)
    try {
      return await this.attempts(request, first)
    } catch (error) {
      this.deps.events.emit('engine:error', { message: `run of job "${request.job.name}" failed internally`, error })
      return { runId: request.runId, status: 'failed', attempts: 1, error: describeError(error) }
    } finally {
      this.inFlight.runsEnded(1)
    }
  }

  private async attempts(request: RunRequest, first: Attempt | undefined): Promise<RunResult> {
    const { job } = request
    let runId = request.runId
    for (let attempt = 1; ; attempt++) {
      const outcome =
        attempt === 1 && first !== undefined ? await this.follow(first) : await this.attempt(request, runId, attempt)
      if (outcome.retryInMs === undefined || this.stopping) return ended(runId, attempt, outcome)
      const waited = await this.backoffs.wait(outcome.retryInMs)
      const now = this.deps.clock.now()
      const retry = { job: job.name, slot: request.slot, trigger: request.trigger, attempt: attempt + 1 }
      const { store, instanceId } = this.deps
      if (!waited) {
        // Shutdown came during the backoff: the retry is recorded as interrupted, not silently dropped.
        const cancelled = await store.beginRun({ ...retry, overlap: 'allow' }, instanceId, now)
        if (cancelled.kind !== 'started') throw new Error('beginRun with overlap allow cannot be busy')
        const message = 'retry cancelled: the scheduler shut down during the backoff'
        await store.finishRun(cancelled.runId, {
          status: 'interrupted',
          finishedAt: now,
          errorMessage: message,
          settled: true,
        })
        this.emitFinished(request, cancelled.runId, attempt + 1, 'interrupted', now, now, { message })
        return ended(cancelled.runId, attempt + 1, { status: 'interrupted', error: { message } })
      }
      // A retry is guarded like a slot (SEMANTICS §6): with overlap 'skip' it does not start while
      // the job runs anywhere, the previous attempt of this run included (a timed-out attempt keeps
      // its row active until its code settles).
      const overlap = request.overlap ?? job.overlap
      const next = await store.beginRun({ ...retry, overlap, whenBusy: 'record' }, instanceId, now)
      if (next.kind === 'busy') throw new Error('beginRun with whenBusy record cannot be only busy')
      if (next.kind === 'skipped') {
        // Recorded as a skipped attempt with the holder as the reason, in the same transaction.
        this.emitFinished(request, next.runId, retry.attempt, 'skipped', now, now, { message: next.reason })
        // The run ends here; its result stays the failure that asked for the retry (see RunResult).
        return ended(runId, attempt, outcome)
      }
      runId = next.runId
    }
  }

  /** One attempt: `beforeRun` hooks, the job's code, then everything after it. */
  private async attempt(request: RunRequest, runId: number, attempt: number): Promise<AttemptOutcome> {
    const begun = this.prepare(request, runId, attempt)
    if (this.hasHook('beforeRun', request.job)) {
      await this.hook('beforeRun', request.job, begun.hookContext(), runId, begun.out())
    }
    begun.call()
    return this.follow(begun)
  }

  /** A new attempt, begun now (see `announce`). */
  private prepare(request: RunRequest, runId: number, attempt: number): Attempt {
    const begun = new Attempt(request, runId, attempt, this.attemptEnv)
    this.announce(begun)
    return begun
  }

  /** Begin the attempt and tell `run:started` listeners (if any), before its code runs. */
  private announce(begun: Attempt): void {
    begun.begin()
    const { events } = this.deps
    if (events.listenerCount('run:started') === 0) return
    const { request } = begun
    events.emit('run:started', {
      runId: begun.runId,
      job: request.job.name,
      slot: request.slot,
      trigger: request.trigger,
      initiator: request.initiator,
      attempt: begun.attempt,
      startedAt: begun.startedAt,
    })
  }

  /**
   * Everything after the job's code was called: wait for its outcome (or its timeout, or shutdown),
   * record it, keep the overlap guard until the code really stops, `afterRun`/`onError` hooks.
   */
  private async follow(begun: Attempt): Promise<AttemptOutcome> {
    const { request, runId, attempt, startedAt } = begun
    const { job } = request
    const { clock, events, store } = this.deps
    let entry: ActiveAttempt | undefined
    let outcome = begun.done
    if (outcome === undefined) {
      entry = this.inFlight.addActive(job.name, runId)
      outcome = await begun.decide(entry, request.timeoutMs ?? job.timeoutMs)
    }
    const finishedAt = clock.now()
    const error = outcome.error === undefined ? undefined : describeError(outcome.error)
    const settled = entry === undefined || entry.codeDone
    const recordedHere = entry === undefined || !entry.recorded
    const { status, value } = outcome
    const decided = outcome
    const record = (settledNow: boolean) => this.record(runId, begun.outcome(decided, finishedAt, error, settledNow))
    if (recordedHere) {
      if (entry) entry.recorded = true
      await record(settled)
    }
    if (entry) {
      const active = entry
      if (settled) this.inFlight.removeActive(active)
      else {
        // The overlap guard keeps counting the job as running until its code really stops.
        const release = () => {
          this.inFlight.removeActive(active)
          store
            .settleRun(runId)
            .catch((e: unknown) => events.emit('engine:error', { message: 'settleRun failed', error: e }))
        }
        if (active.codeDone) release()
        else active.afterSettle = release
      }
    }
    const retryInMs = this.willRetry(job, status, attempt)
      ? retryDelayMs(job.retry, attempt, this.deps.random)
      : undefined
    this.emitFinished(request, runId, attempt, status, startedAt, finishedAt, error, retryInMs)
    let hookFailed = false
    if (this.hasAfterHooks(job, status)) {
      const finished = {
        ...begun.hookContext(),
        finishedAt: new Date(finishedAt),
        durationMs: finishedAt - startedAt,
        status,
        ...(status === 'succeeded' ? { result: value } : { error: outcome.error }),
      }
      if (this.hasHook('afterRun', job)) hookFailed = await this.hook('afterRun', job, finished, runId, begun.out())
      if (status !== 'succeeded' && this.hasHook('onError', job)) {
        hookFailed = (await this.hook('onError', job, finished, runId, begun.out())) || hookFailed
      }
    }
    // The outcome was recorded before these hooks ran (a timeout is recorded at its deadline); a
    // hook's failure is added to the attempt's output afterwards.
    if (hookFailed && recordedHere) await record(entry === undefined || entry.codeDone)
    return { status, ...(error ? { error } : {}), ...(retryInMs === undefined ? {} : { retryInMs }) }
  }

  private async record(runId: number, outcome: RunOutcome): Promise<void> {
    try {
      await this.deps.store.finishRun(runId, outcome)
    } catch (error) {
      this.recordFailed(runId, error)
    }
  }

  private recordFailed(runId: number, error: unknown): void {
    this.deps.events.emit('engine:error', { message: `could not record the outcome of run ${runId}`, error })
  }

  private emitFinished(
    request: RunRequest,
    runId: number,
    attempt: number,
    status: RunStatus,
    startedAt: number,
    finishedAt: number,
    error?: { message: string; stack?: string },
    retryInMs?: number,
  ): void {
    if (this.deps.events.listenerCount('run:finished') === 0) return
    this.deps.events.emit('run:finished', {
      runId,
      job: request.job.name,
      slot: request.slot,
      trigger: request.trigger,
      initiator: request.initiator,
      attempt,
      status,
      startedAt,
      finishedAt,
      durationMs: finishedAt - startedAt,
      ...(error ? { error } : {}),
      ...(retryInMs === undefined ? {} : { retryInMs }),
    })
  }

  private hasHook(name: keyof Hooks, job: ResolvedJob): boolean {
    return this.deps.hooks[name] !== undefined || job.hooks[name] !== undefined
  }

  /** Config hooks first, then the job's own. A failing or hanging hook is recorded, never fatal. */
  private hook(
    name: keyof Hooks,
    job: ResolvedJob,
    ctx: HookContext,
    runId: number,
    output: OutputBuffer,
  ): Promise<boolean> {
    return runHooks(name, [this.deps.hooks[name], job.hooks[name]], ctx, { ...this.deps, job: job.name, runId, output })
  }

  /**
   * Stop starting attempts: cancel pending retries, let running attempts finish for up to `graceMs`,
   * then abort their signals and record them interrupted (`reason` says why). `interruptNow()` cuts
   * the wait short.
   */
  async drain(graceMs: number, reason: string): Promise<void> {
    this.stopping = true
    this.backoffs.cancelAll()
    const all = this.inFlight.whenIdle()
    if (graceMs > 0) {
      let timer: TimerHandle | undefined
      const graceOver = new Promise<void>((resolve) => {
        this.cutShort = resolve
        timer = this.deps.clock.setTimeout(resolve, graceMs)
      })
      await Promise.race([all, graceOver])
      if (timer) this.deps.clock.clearTimeout(timer)
    }
    this.inFlight.interruptUnrecorded(`interrupted: ${reason}`)
    await all
  }

  /** A second signal: stop waiting for running jobs. */
  interruptNow(): void {
    this.cutShort?.()
  }
}
