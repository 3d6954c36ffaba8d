/**
 * Runs one logical run of a job: attempts with timeout and retry, hooks around each attempt, every
 * attempt recorded in the store. Nothing a job does (throw, reject, hang, throw a non-Error) can
 * escape into the scheduler.
 */
import { format } from 'node:util'
import type { HookContext, Hooks, Initiator, JobContext, ResolvedJob, Trigger } from '../config/types.js'
import type { MissedInfo, RunOutcome, RunStatus, Store } from '../store/types.js'
import { describeError, LazyAbort, summarise, toMissed } from './attempt.js'
import type { Clock, TimerHandle } from './clock.js'
import type { EngineEmitter } from './events.js'
import { OutputBuffer } from './output.js'
import { retryDelayMs } from './retry.js'

/** A hook that takes longer than this is abandoned (and recorded) so it cannot stall a run. */
export const HOOK_TIMEOUT_MS = 10_000

export interface RunRequest {
  job: ResolvedJob
  /** The first attempt's row, already inserted as `running` (by a slot claim or `beginRun`). */
  runId: number
  slot: number
  trigger: Trigger
  initiator: Initiator
  missed?: MissedInfo
  /** Overrides the job's timeout (run-job --timeout). */
  timeoutMs?: number
}

export interface RunResult {
  /** The last attempt's row id and status. */
  runId: number
  status: RunStatus
  attempts: number
  error?: { message: string; stack?: string }
}

interface ActiveAttempt {
  job: string
  runId: number
  /** Resolves when the job's code has settled (not merely when the outcome was recorded). */
  settled: Promise<void>
  /** Set once the outcome is in the store, so shutdown and the attempt never both record it. */
  recorded: boolean
  interrupt: (reason: string) => void
}

interface Deps {
  store: Store
  clock: Clock
  events: EngineEmitter
  instanceId: string
  hooks: Hooks
  random: () => number
}

export class Runner {
  private readonly active = new Map<number, ActiveAttempt>()
  private readonly retryWaits = new Set<{ timer: TimerHandle; cancel: () => void }>()
  private readonly runs = new Set<Promise<RunResult>>()
  private stopping = false
  private cutShort: (() => void) | undefined

  constructor(private readonly deps: Deps) {}

  /** Attempts whose code is still executing in this process, by job name. */
  activeCount(job: string): number {
    let n = 0
    for (const attempt of this.active.values()) if (attempt.job === job) n++
    return n
  }

  get activeTotal(): number {
    return this.active.size
  }

  /** Start a run in the background; the returned promise never rejects. */
  execute(request: RunRequest): Promise<RunResult> {
    const run = this.attempts(request).catch((error: unknown) => {
      this.deps.events.emit('engine:error', { message: `run of job "${request.job.name}" failed internally`, error })
      return { runId: request.runId, status: 'failed' as RunStatus, attempts: 1, error: describeError(error) }
    })
    this.runs.add(run)
    void run.finally(() => this.runs.delete(run))
    return run
  }

  private async attempts(request: RunRequest): Promise<RunResult> {
    const { job } = request
    let runId = request.runId
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(request, runId, attempt)
      if (outcome.retryInMs === undefined || this.stopping) {
        return { runId, status: outcome.status, attempts: attempt, ...(outcome.error ? { error: outcome.error } : {}) }
      }
      const waited = await this.wait(outcome.retryInMs)
      const now = this.deps.clock.now()
      const next = await this.deps.store.beginRun(
        { job: job.name, slot: request.slot, trigger: request.trigger, attempt: attempt + 1, overlap: 'allow' },
        this.deps.instanceId,
        now,
      )
      if (next.kind !== 'started') throw new Error('beginRun with overlap allow cannot be busy')
      runId = next.runId
      if (!waited) {
        // Shutdown came during the backoff: the retry is recorded as interrupted, not silently dropped.
        const message = 'retry cancelled: the scheduler shut down during the backoff'
        await this.deps.store.finishRun(runId, {
          status: 'interrupted',
          finishedAt: now,
          errorMessage: message,
          settled: true,
        })
        this.emitFinished(request, runId, attempt + 1, 'interrupted', now, now, { message })
        return { runId, status: 'interrupted', attempts: attempt + 1, error: { message } }
      }
    }
  }

  private async attempt(
    request: RunRequest,
    runId: number,
    attempt: number,
  ): Promise<{ status: RunStatus; error?: { message: string; stack?: string }; retryInMs?: number }> {
    const { job } = request
    const { clock, events, store } = this.deps
    const startedAt = clock.now()
    // The signal, the log and the hook context are built only when used: starting a thousand jobs
    // on one instant must cost as little as possible per job.
    const abort = new LazyAbort()
    let output: OutputBuffer | undefined
    const out = () => {
      output ??= new OutputBuffer()
      return output
    }
    let logger: JobContext['log'] | undefined
    const makeLogger = (): JobContext['log'] => {
      const line =
        (level: 'info' | 'warn' | 'error') =>
        (...args: unknown[]) => {
          const text = format(...args)
          const at = clock.now()
          out().add(level, text, at)
          events.emit('run:log', { runId, job: job.name, attempt, level, text, at })
        }
      return { info: line('info'), warn: line('warn'), error: line('error') }
    }
    const scheduledAt = new Date(request.slot)
    const missed = request.missed ? toMissed(request.missed) : undefined
    const ctx: JobContext = {
      get signal() {
        return abort.signal
      },
      attempt,
      scheduledAt,
      trigger: request.trigger,
      job: { name: job.name, tags: job.tags },
      get log() {
        logger ??= makeLogger()
        return logger
      },
      ...(missed ? { missed } : {}),
    }
    let hookContext: HookContext | undefined
    const hookBase = (): HookContext => {
      hookContext ??= {
        job: { name: job.name, tags: job.tags, schedule: job.scheduleText, zone: job.zone },
        scheduledAt,
        trigger: request.trigger,
        initiator: request.initiator,
        attempt,
        instanceId: this.deps.instanceId,
        startedAt: new Date(startedAt),
        ...(missed ? { missed } : {}),
      }
      return hookContext
    }
    if (events.listenerCount('run:started') > 0) {
      events.emit('run:started', {
        runId,
        job: job.name,
        slot: request.slot,
        trigger: request.trigger,
        initiator: request.initiator,
        attempt,
        startedAt,
      })
    }
    // Without hooks there is nothing to wait for: the job starts in the same turn as its claim.
    if (this.hasHook('beforeRun', job)) await this.hook('beforeRun', job, hookBase(), runId, out())

    let settle!: () => void
    let finish!: (outcome: { status: RunStatus; value?: unknown; error?: unknown }) => void
    const decided = new Promise<{ status: RunStatus; value?: unknown; error?: unknown }>((resolve) => {
      finish = resolve
    })
    const active: ActiveAttempt = {
      job: job.name,
      runId,
      settled: new Promise<void>((resolve) => {
        settle = resolve
      }),
      recorded: false,
      interrupt: (reason) => {
        abort.abort(new Error(reason))
        finish({ status: 'interrupted', error: new Error(reason) })
      },
    }
    this.active.set(runId, active)

    const timeoutMs = request.timeoutMs ?? job.timeoutMs
    let timer: TimerHandle | undefined
    if (timeoutMs > 0) {
      timer = clock.setTimeout(() => {
        const error = new Error(`timed out after ${timeoutMs / 1000}s`)
        error.name = 'TimeoutError'
        abort.abort(error)
        finish({ status: 'timed_out', error })
      }, timeoutMs)
    }
    let codeDone = false
    // The job starts right here (not in a later microtask), so of many jobs due on one instant
    // each starts as soon as its own set-up is done; a synchronous throw becomes a rejection.
    let returned: unknown
    try {
      returned = job.run(ctx)
    } catch (error) {
      returned = Promise.reject(error)
    }
    Promise.resolve(returned)
      .then(
        (value) => ({ status: 'succeeded' as const, value }),
        (error: unknown) => ({ status: 'failed' as const, error }),
      )
      .then((result) => {
        codeDone = true
        if (timer) clock.clearTimeout(timer)
        finish(result)
        settle()
      })

    const outcome = await decided
    const finishedAt = clock.now()
    const error = outcome.error === undefined ? undefined : describeError(outcome.error)
    const settled = codeDone
    const recordedHere = !active.recorded
    const record = (settledNow: boolean) =>
      this.record(runId, {
        status: outcome.status as RunOutcome['status'],
        finishedAt,
        errorMessage: error?.message ?? null,
        errorStack: error?.stack ?? null,
        result: outcome.status === 'succeeded' ? summarise(outcome.value) : null,
        output: output?.toJSON() ?? null,
        settled: settledNow,
      })
    if (recordedHere) {
      active.recorded = true
      await record(settled)
    }
    if (settled) this.active.delete(runId)
    else {
      // The overlap guard keeps counting the job as running until its code really stops.
      void active.settled.then(async () => {
        this.active.delete(runId)
        await store
          .settleRun(runId)
          .catch((e: unknown) => events.emit('engine:error', { message: 'settleRun failed', error: e }))
      })
    }
    const willRetry =
      (outcome.status === 'failed' || outcome.status === 'timed_out') && attempt <= job.retry.max && !this.stopping
    const retryInMs = willRetry ? retryDelayMs(job.retry, attempt, this.deps.random) : undefined
    this.emitFinished(request, runId, attempt, outcome.status, startedAt, finishedAt, error, retryInMs)
    const afterHooks = this.hasHook('afterRun', job) || (outcome.status !== 'succeeded' && this.hasHook('onError', job))
    let hookFailed = false
    if (afterHooks) {
      const finished: HookContext = {
        ...hookBase(),
        finishedAt: new Date(finishedAt),
        durationMs: finishedAt - startedAt,
        status: outcome.status,
        ...(outcome.status === 'succeeded' ? { result: outcome.value } : { error: outcome.error }),
      }
      if (this.hasHook('afterRun', job)) hookFailed = await this.hook('afterRun', job, finished, runId, out())
      if (outcome.status !== 'succeeded' && this.hasHook('onError', job)) {
        hookFailed = (await this.hook('onError', job, finished, runId, out())) || hookFailed
      }
    }
    // The outcome was recorded before these hooks ran (a timeout is recorded at its deadline); a
    // hook's failure is added to the attempt's output afterwards.
    if (hookFailed && recordedHere) await record(codeDone)
    return { status: outcome.status, ...(error ? { error } : {}), ...(retryInMs === undefined ? {} : { retryInMs }) }
  }

  private async record(runId: number, outcome: RunOutcome): Promise<void> {
    try {
      await this.deps.store.finishRun(runId, outcome)
    } catch (error) {
      this.deps.events.emit('engine:error', { message: `could not record the outcome of run ${runId}`, error })
    }
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
  private async hook(
    name: keyof Hooks,
    job: ResolvedJob,
    ctx: HookContext,
    runId: number,
    output: OutputBuffer,
  ): Promise<boolean> {
    let failed = false
    for (const fn of [this.deps.hooks[name], job.hooks[name]]) {
      if (!fn) continue
      let timer: TimerHandle | undefined
      try {
        await Promise.race([
          Promise.resolve().then(() => fn(ctx)),
          new Promise((_, reject) => {
            timer = this.deps.clock.setTimeout(
              () => reject(new Error(`did not finish within ${HOOK_TIMEOUT_MS / 1000}s`)),
              HOOK_TIMEOUT_MS,
            )
          }),
        ])
      } catch (error) {
        failed = true
        const message = describeError(error).message
        output.add('error', `hook ${name} failed: ${message}`, this.deps.clock.now())
        this.deps.events.emit('hook:failed', { job: job.name, hook: name, runId, message })
      } finally {
        if (timer) this.deps.clock.clearTimeout(timer)
      }
    }
    return failed
  }

  /** Wait `ms` on the clock; resolves false if shutdown cancelled the wait. */
  private wait(ms: number): Promise<boolean> {
    if (this.stopping) return Promise.resolve(false)
    return new Promise((resolve) => {
      const entry = {
        timer: this.deps.clock.setTimeout(() => {
          this.retryWaits.delete(entry)
          resolve(true)
        }, ms),
        cancel: () => resolve(false),
      }
      this.retryWaits.add(entry)
    })
  }

  /**
   * Stop starting attempts: cancel pending retries, let running attempts finish for up to `graceMs`,
   * then abort their signals and record them interrupted. `interruptNow()` cuts the wait short.
   */
  async drain(graceMs: number): Promise<void> {
    this.stopping = true
    for (const entry of this.retryWaits) {
      this.deps.clock.clearTimeout(entry.timer)
      entry.cancel()
    }
    this.retryWaits.clear()
    const all = Promise.all([...this.runs])
    if (graceMs > 0) {
      let timer: TimerHandle | undefined
      const graceOver = new Promise<void>((resolve) => {
        this.cutShort = resolve
        timer = this.deps.clock.setTimeout(resolve, graceMs)
      })
      await Promise.race([all, graceOver])
      if (timer) this.deps.clock.clearTimeout(timer)
    }
    for (const attempt of this.active.values()) {
      if (!attempt.recorded) attempt.interrupt('interrupted: the scheduler shut down before the job finished')
    }
    await all
  }

  /** A second signal: stop waiting for running jobs. */
  interruptNow(): void {
    this.cutShort?.()
  }
}
