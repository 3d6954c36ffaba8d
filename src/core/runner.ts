// One run of a job: attempts with timeout, retries and hooks, each recorded through the one Recorder;
// nothing a job does escapes into the scheduler. docs/engine.md: "One slot, start to end".
import type { Hooks, ResolvedJob } from '../config/types.js'
import type { AttemptRecord, PendingRetry, RunOutcome, RunStatus, Store } from '../store/types.js'
import { Attempt, type AttemptEnv, type RunRequest, type Verdict } from './attempt.js'
import type { Clock, TimerHandle } from './clock.js'
import { describeError, summarise, withoutEngineFrames } from './describe.js'
import { type EngineEmitter, emitRunFinished } from './events.js'
import { HookRunner } from './hooks.js'
import { type ActiveAttempt, InFlight } from './inflight.js'
import type { Outage } from './outage.js'
import type { Recorder } from './recorder.js'
import { retryDelayMs } from './retry.js'
import { beginRetry, cancelRetry } from './retry-start.js'
import { type AttemptDetailJson, attemptDetail, attemptDetailJson } from './views.js'

export type { RunRequest } from './attempt.js'

export interface RunResult {
  /** The last attempt's row and status; a retry the overlap guard skipped leaves the failure before it. */
  runId: number
  status: RunStatus
  /** Attempts whose code was called (or, for a retry cancelled by shutdown, recorded). */
  attempts: number
  error?: { message: string; stack?: string }
  /**
   * `runJob` only: the last attempt as the store holds it at the run's end, as `run(runId)` gives it (read
   * before a stop closes the store); absent if it could not be read.
   */
  recorded?: AttemptDetailJson
}

/** Attempts built ahead of their instant (`Runner.stage`); undefined where a `beforeRun` hook comes first. */
export interface StagedRuns {
  readonly requests: readonly RunRequest[]
  readonly attempts: readonly (Attempt | undefined)[]
}

type AttemptResult = Pick<RunResult, 'status' | 'error'> & { retryInMs?: number }

export interface RunnerDeps {
  store: Store
  recorder: Recorder
  clock: Clock
  events: EngineEmitter
  /** Current instance id (a new one after the lease was lost). */
  instanceId: () => string
  /** A reload may replace them. */
  hooks: () => Hooks
  random: () => number
  echoConsole: boolean
  outage?: Outage
  /** Self-fencing: a stale lease renewed (a new instance id if a peer reaped this one) before a retry begins. */
  renewLease?: (now: number) => Promise<unknown> | undefined
}

/** Where a run is, so that an internal error can still record the attempt it was on. */
export interface Progress {
  runId: number
  attempt: number
  recorded: boolean
  active: ActiveAttempt | undefined
  /** For a retry adopted from the store: when it is due. */
  retryAt?: number
  /** The last attempt run, whose record a late change (a stray error, a hook's failure) is written into. */
  last?: Attempt
}

export class Runner {
  private readonly inFlight: InFlight
  private readonly adopted = new Set<number>()
  /** A second stop: nothing waits any more, hooks after an attempt included. */
  private graceCancelled = false
  /** Set when a stop interrupts the running attempts (after its grace): what they are recorded with. */
  private interrupting: string | undefined
  private endGraceWait: (() => void) | undefined
  private readonly hooks: HookRunner
  private stopWaitingForHooks!: () => void
  private readonly attemptEnv: AttemptEnv

  constructor(private readonly deps: RunnerDeps) {
    this.inFlight = new InFlight(deps.clock)
    this.attemptEnv = {
      clock: deps.clock,
      events: deps.events,
      get instanceId() {
        return deps.instanceId()
      },
      echoConsole: deps.echoConsole,
    }
    const hurry = new Promise<void>((resolve) => {
      this.stopWaitingForHooks = resolve
    })
    this.hooks = new HookRunner(deps.hooks, deps.clock, deps.events, hurry)
  }

  activeCount(job: string): number {
    return this.inFlight.activeCount(job)
  }

  /** Start a run in the background, resolving with its last attempt as recorded; the promise never rejects. */
  execute(request: RunRequest): Promise<RunResult> {
    return this.run(request, undefined, undefined, true)
  }

  /** Runs due on one instant: every job's code is called first, then each run follows its course. */
  executeAll(requests: readonly RunRequest[]): void {
    this.startStaged(this.stage(requests))
  }

  /** Build attempts ahead of their instant (claim-ahead), so that on it only the calls are left. */
  stage(requests: readonly RunRequest[]): StagedRuns {
    const attempts: (Attempt | undefined)[] = new Array(requests.length)
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i] as RunRequest
      if (this.hooks.has('beforeRun', request.job)) continue
      attempts[i] = new Attempt(request, request.runId, 1, this.attemptEnv)
    }
    return { requests, attempts }
  }

  startStaged({ requests, attempts }: StagedRuns): void {
    for (const attempt of attempts) {
      if (attempt === undefined) continue
      attempt.begin()
      attempt.call()
    }
    for (let i = 0; i < requests.length; i++) void this.run(requests[i] as RunRequest, attempts[i])
  }

  /** Go on with a run whose owner stopped or died during its backoff; the store lets one process begin it. */
  adoptRetry(job: ResolvedJob, pending: PendingRetry): void {
    if (this.adopted.has(pending.runId)) return
    this.adopted.add(pending.runId)
    const { runId, slot, trigger, attempt, retryAt } = pending
    const request: RunRequest = { job, runId, slot, trigger, initiator: 'scheduler' }
    void this.run(request, undefined, { runId, attempt, recorded: true, active: undefined, retryAt })
  }

  private async run(
    request: RunRequest,
    first: Attempt | undefined,
    progress: Progress = { runId: request.runId, attempt: 1, recorded: false, active: undefined },
    readRecord = false,
  ): Promise<RunResult> {
    this.inFlight.runBegan()
    try {
      const result = await this.guardedAttempts(request, first, progress)
      // Before the run counts as ended: a stop closes the store only once every run has ended.
      return readRecord ? { ...result, ...(await this.recordOf(result.runId)) } : result
    } finally {
      this.inFlight.runEnded()
    }
  }

  private async recordOf(runId: number): Promise<Pick<RunResult, 'recorded'>> {
    try {
      const record = await this.deps.store.getRun(runId)
      return record === undefined ? {} : { recorded: attemptDetailJson(attemptDetail(record)) }
    } catch {
      return {}
    }
  }

  /** The attempts; an internal error still records the attempt it was on. */
  private async guardedAttempts(
    request: RunRequest,
    first: Attempt | undefined,
    progress: Progress,
  ): Promise<RunResult> {
    try {
      return await this.attempts(request, first, progress)
    } catch (error) {
      // A bug of the engine: the attempt still gets an outcome, so its row does not hold the job.
      const { message } = describeError(error)
      this.deps.events.emit('engine:error', { message: `run of job "${request.job.name}" failed internally`, error })
      const { active } = progress
      if (active) this.inFlight.removeActive(active)
      if (!progress.recorded) {
        await this.deps.recorder.finish(progress.runId, {
          status: 'failed',
          finishedAt: this.deps.clock.now(),
          errorMessage: `internal error of the scheduler: ${message}`,
          codeDone: true,
        })
        active?.onRecorded?.('failed')
      }
      return { runId: progress.runId, status: 'failed', attempts: progress.attempt, error: { message } }
    }
  }

  private async attempts(request: RunRequest, first: Attempt | undefined, progress: Progress): Promise<RunResult> {
    let result: AttemptResult =
      progress.retryAt === undefined
        ? await this.afterCall(first ?? (await this.begin(request, progress)), progress)
        : { status: 'failed', retryInMs: Math.max(0, progress.retryAt - this.deps.clock.now()) }
    for (;;) {
      const ended = { runId: progress.runId, status: result.status, attempts: progress.attempt }
      const outcome: RunResult = result.error ? { ...ended, error: result.error } : ended
      if (result.retryInMs === undefined) return outcome
      const waited = await this.inFlight.backoff(result.retryInMs, progress.runId)
      if (typeof waited === 'object') {
        let cancelled: Awaited<ReturnType<typeof cancelRetry>>
        try {
          cancelled = await cancelRetry(this.deps, request, progress, waited.message)
        } finally {
          waited.done(cancelled?.cancelled)
        }
        if (cancelled === undefined) return outcome
        await this.retryEnded(request, cancelled.ended)
        return cancelled.ended
      }
      const wait = async (ms: number) => (await this.inFlight.backoff(ms)) === true
      const next = await beginRetry(this.deps, request, progress, waited, wait)
      if (next === undefined) return outcome
      if (next.ended !== undefined) {
        await this.retryEnded(request, next.ended)
        // A skipped retry leaves the run's result the failure before it.
        return next.ended.status === 'skipped' ? outcome : next.ended
      }
      progress.attempt++
      result = await this.afterCall(await this.begin(request, progress), progress)
    }
  }

  /** A retry cancelled (by a stop or a cancel), or skipped by the overlap guard, ends the run: its after-hooks hear so. */
  private async retryEnded(request: RunRequest, { runId, attempts, status, error }: RunResult): Promise<void> {
    const ended = new Attempt(request, runId, attempts, this.attemptEnv)
    ended.startedAt = this.deps.clock.now()
    await this.afterHooks(ended, { status, error: new Error(error?.message) }, ended.startedAt, false)
  }

  private async begin(request: RunRequest, { runId, attempt }: Progress): Promise<Attempt> {
    const begun = new Attempt(request, runId, attempt, this.attemptEnv)
    begun.begin()
    if (this.hooks.has('beforeRun', request.job)) {
      await this.hooks.run('beforeRun', begun)
      // A stop interrupted the running jobs, or was hurried, while the hook ran: the job is not called.
      if (this.interrupting !== undefined || this.graceCancelled) {
        begun.interruptBeforeCall(this.interrupting ?? 'interrupted: stopped before the job was called')
        return begun
      }
    }
    begun.call()
    return begun
  }

  /** Wait for the outcome, record it, hold the overlap guard until the code stops, then after-hooks. */
  private async afterCall(begun: Attempt, progress: Progress): Promise<AttemptResult> {
    const { request, runId, attempt, startedAt } = begun
    const { job } = request
    const { clock, recorder } = this.deps
    let active: ActiveAttempt | undefined
    let decided: Verdict | undefined = begun.done
    progress.last = begun
    begun.onStray = (error) => {
      if (active && !begun.decided) active.fail(error)
      else void this.attachStray(begun, error, active === undefined || active.codeDone)
    }
    if (decided === undefined) {
      active = this.inFlight.addActive(job.name, runId)
      progress.active = active
      decided = await begun.decide(active, request.timeoutMs ?? job.timeoutMs)
    }
    const finishedAt = clock.now()
    const error = decided.error === undefined ? undefined : withoutEngineFrames(describeError(decided.error))
    const { status } = decided
    // Retried during a shutdown too: `beginRetry` then records the retry interrupted.
    const retries = (status === 'failed' || status === 'timed_out') && attempt <= job.retry.max
    const retryInMs = retries ? retryDelayMs(job.retry, attempt, this.deps.random) : undefined
    const codeDoneAtRecord = active === undefined || active.codeDone
    const retryAt = retryInMs === undefined ? null : finishedAt + retryInMs
    begun.recorded = {
      status: status as RunOutcome['status'],
      finishedAt,
      errorMessage: error?.message ?? null,
      errorStack: error?.stack ?? null,
      result: status === 'succeeded' ? summarise(decided.value) : null,
      output: begun.output?.toJSON() ?? null,
      codeDone: codeDoneAtRecord,
      retryAt,
    }
    if (active) active.recorded = true
    const kept = await recorder.finish(runId, begun.recorded)
    progress.recorded = true
    active?.onRecorded?.(status)
    if (!kept) begun.abort(new Error('this scheduler lost the run to another instance'))
    if (active) {
      progress.active = undefined
      if (codeDoneAtRecord) this.inFlight.removeActive(active)
      else {
        const release = () => {
          this.inFlight.removeActive(active)
          void recorder.release(runId)
        }
        if (active.codeDone) release()
        else active.afterCodeDone = release
      }
    }
    emitRunFinished(this.deps.events, request, runId, attempt, status, startedAt, finishedAt, error, retryInMs)
    const hookFailed = await this.afterHooks(begun, decided, finishedAt, retryInMs !== undefined)
    // The outcome was recorded before the hooks ran: a hook's failure is added to it afterwards (its output line).
    if (hookFailed && kept) await this.rewrite(begun, {}, active === undefined || active.codeDone)
    return { status, ...(error ? { error } : {}), ...(retryInMs === undefined ? {} : { retryInMs }) }
  }

  /** `afterRun` and `onError` of a recorded attempt, unless a second stop hurried; resolves whether one failed. */
  private async afterHooks(begun: Attempt, decided: Verdict, finishedAt: number, willRetry: boolean): Promise<boolean> {
    const { status } = decided
    if (this.graceCancelled || !this.hooks.hasAfter(begun.request.job, status)) return false
    return this.hooks.runAfter(begun, status, {
      ...begun.hookContext(),
      finishedAt: new Date(finishedAt),
      durationMs: finishedAt - begun.startedAt,
      status,
      willRetry,
      final: !willRetry,
      ...(status === 'succeeded' ? { result: decided.value } : { error: decided.error }),
    })
  }

  /** An error the job's code raised after its outcome was recorded: added to its output (and error). */
  private async attachStray(begun: Attempt, error: unknown, codeDone: boolean): Promise<void> {
    const { message, stack } = describeError(error)
    const line = `uncaught error after the attempt ended: ${message}`
    begun.out().add('error', line, this.deps.clock.now())
    const { recorded } = begun
    if (recorded === undefined) return
    const errorMessage = recorded.errorMessage ?? line
    await this.rewrite(begun, { errorMessage, errorStack: recorded.errorStack ?? stack ?? null }, codeDone)
  }

  /**
   * Write a recorded attempt again with its output as it is now and `change`: what was written last stays
   * (a stray error's, and no pending retry once it began), and its job is held only while its code runs.
   */
  private async rewrite(begun: Attempt, change: Partial<RunOutcome>, codeDone: boolean): Promise<void> {
    if (begun.recorded === undefined) return
    begun.recorded = { ...begun.recorded, ...change, output: begun.output?.toJSON() ?? null, codeDone }
    await this.deps.recorder.finish(begun.runId, begun.recorded)
  }

  /** Cancel pending retries, give running attempts `graceMs`, then record them interrupted. */
  async drain(graceMs: number, reason: string): Promise<void> {
    this.inFlight.endBackoffs()
    const all = this.inFlight.whenIdle()
    if (graceMs > 0 && !this.graceCancelled) {
      let timer: TimerHandle | undefined
      const graceOver = new Promise<void>((resolve) => {
        this.endGraceWait = resolve
        timer = this.deps.clock.setTimeout(resolve, graceMs)
      })
      await Promise.race([all, graceOver])
      if (timer) this.deps.clock.clearTimeout(timer)
    }
    this.interrupting = `interrupted: ${reason}`
    this.inFlight.interruptUnrecorded(this.interrupting)
    await all
  }

  /** A second signal: stop waiting for running jobs and for their hooks. */
  interruptNow(): void {
    this.graceCancelled = true
    this.stopWaitingForHooks()
    this.endGraceWait?.()
  }

  /** Cancel run `runId`'s attempt if its code executes here; resolves with the status recorded, or undefined. */
  cancel(runId: number, message: string): Promise<RunStatus | undefined> {
    const entry = this.inFlight.activeAttempt(runId)
    if (entry === undefined || entry.recorded) return Promise.resolve(undefined)
    return new Promise((resolve) => {
      const earlier = entry.onRecorded
      entry.onRecorded = (status) => {
        earlier?.(status)
        resolve(status)
      }
      entry.cancel(message)
    })
  }

  /**
   * Cancel the retry that failed run `runId` waits for here: its backoff ends at once and the retry is
   * recorded cancelled (`Store.cancelRetry`); resolves with that attempt, or undefined when no backoff
   * of `runId` waits here or its retry was taken first.
   */
  cancelRetry(runId: number, message: string): Promise<AttemptRecord | undefined> {
    return new Promise((resolve) => {
      if (!this.inFlight.cancelRetry(runId, { message, done: resolve })) resolve(undefined)
    })
  }

  /** The lease was lost: abort every running attempt (their outcomes would be refused). */
  abortAll(reason: string): void {
    this.inFlight.interruptUnrecorded(reason)
  }
}
