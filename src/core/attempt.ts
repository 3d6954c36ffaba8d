/**
 * One attempt of a run: its state, the context the job's code receives, and the call itself. The
 * signal, the log and the hook context are built only when something uses them: starting a thousand
 * jobs on one instant must cost as little as possible per job.
 */

import { formatDuration } from '../config/duration.js'
import type {
  HookContext,
  Initiator,
  JobContext,
  JobLogger,
  MissedSlots,
  ResolvedJob,
  Trigger,
} from '../config/types.js'
import type { MissedInfo, RunOutcome, RunStatus } from '../store/types.js'
import type { Clock, TimerHandle } from './clock.js'
import { formatLog, summarise } from './describe.js'
import type { EngineEmitter } from './events.js'
import type { ConsoleTarget } from './job-console.js'
import { jobScope, type StrayTarget } from './job-scope.js'
import { OutputBuffer } from './output.js'

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
  /**
   * Overrides the job's overlap rule for this run's retries: a run started regardless of the job
   * running elsewhere (run-job --force) passes `'allow'`, so its retries go ahead regardless too.
   */
  overlap?: 'skip' | 'allow'
}

/** What an attempt came to: the job's code settled, it timed out, it was cancelled, or shutdown interrupted it. */
export interface Decided {
  status: RunStatus
  value?: unknown
  error?: unknown
}

/** What `decide` needs of the runner's record of a running attempt. */
export interface Pending {
  /** Whether the job's code has settled (not merely whether the outcome was recorded). */
  codeDone: boolean
  /** Called once when the code settles after its outcome was decided otherwise (a timeout, an interrupt). */
  afterSettle: (() => void) | undefined
  /** Set here: decides the attempt as interrupted. */
  interrupt: (reason: string) => void
  /** Set here: decides the attempt as failed (an error its code raised outside its call). */
  fail: (error: unknown) => void
  /** Set here: decides the attempt as cancelled (`Scheduler.cancel`), its signal aborted with `error`. */
  cancel: (error: Error) => void
}

/** What every attempt of a runner shares. */
export interface AttemptEnv {
  clock: Clock
  events: EngineEmitter
  instanceId: string
  /** Whether a job's console calls also reach the process's console (see job-console.ts). */
  echoConsole: boolean
}

/**
 * An AbortController made only when a job reads `ctx.signal` (creating one per attempt is a
 * measurable share of starting a job); aborting before that is remembered and applied on creation.
 */
class LazyAbort {
  private controller: AbortController | undefined
  private reason: unknown
  private aborted = false

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController()
      if (this.aborted) this.controller.abort(this.reason)
    }
    return this.controller.signal
  }

  abort(reason: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason
    this.controller?.abort(reason)
  }
}

/** The `ctx` a job receives. `signal` and `log` are getters, so they cost nothing until read. */
class Context implements JobContext {
  readonly attempt: number
  readonly scheduledAt: Date
  readonly trigger: Trigger
  readonly job: { name: string; tags: readonly string[] }
  declare readonly missed?: MissedSlots
  readonly #owner: Attempt

  constructor(owner: Attempt, scheduledAt: Date, missed: MissedSlots | undefined) {
    const { request } = owner
    this.#owner = owner
    this.attempt = owner.attempt
    this.scheduledAt = scheduledAt
    this.trigger = request.trigger
    this.job = { name: request.job.name, tags: request.job.tags }
    if (missed) this.missed = missed
  }

  get signal(): AbortSignal {
    return this.#owner.signal
  }

  get log(): JobLogger {
    return this.#owner.logger()
  }
}

export class Attempt implements StrayTarget, ConsoleTarget {
  readonly ctx: JobContext
  /** Set when the job's code finished within its call: it returned a non-thenable or threw. */
  done: Decided | undefined
  /** Set when the job's code returned a promise (or any thenable). */
  returned: PromiseLike<unknown> | undefined
  /** When the attempt began (before its `beforeRun` hooks, if any); set by `begin()`. */
  startedAt = 0
  /** When the job's code was called (its timeout counts from here). */
  calledAt = 0
  /** When the call returned, for an attempt decided within it (`done`). */
  doneAt = 0
  output: OutputBuffer | undefined
  #abort: LazyAbort | undefined
  #logger: JobLogger | undefined
  #hookContext: HookContext | undefined
  /** Whether the attempt's outcome is known (its code settled, it timed out, was cancelled or interrupted). */
  decided = false
  /** The outcome last handed to the store for this attempt. */
  recorded: RunOutcome | undefined
  /** Where an error the job's code raised outside its call goes (set by the runner). */
  onStray: ((error: unknown) => void) | undefined
  readonly #scheduledAt: Date
  readonly #missed: MissedSlots | undefined

  constructor(
    readonly request: RunRequest,
    readonly runId: number,
    readonly attempt: number,
    private readonly env: AttemptEnv,
  ) {
    this.#scheduledAt = new Date(request.slot)
    this.#missed = request.missed ? toMissed(request.missed) : undefined
    this.ctx = new Context(this, this.#scheduledAt, this.#missed)
  }

  get signal(): AbortSignal {
    this.#abort ??= new LazyAbort()
    return this.#abort.signal
  }

  /** Abort the job's signal; its listeners run in the job's scope, so what they throw is the job's. */
  abort(reason: unknown): void {
    this.#abort ??= new LazyAbort()
    const abort = this.#abort
    jobScope.run(this, () => abort.abort(reason))
  }

  strayError(error: unknown): void {
    this.onStray?.(error)
  }

  consoleLine(level: 'info' | 'warn' | 'error', args: unknown[]): boolean {
    this.logger()[level](...args)
    return this.env.echoConsole
  }

  out(): OutputBuffer {
    this.output ??= new OutputBuffer()
    return this.output
  }

  logger(): JobLogger {
    this.#logger ??= this.makeLogger()
    return this.#logger
  }

  /** What hooks receive (before the outcome is known). */
  hookContext(): HookContext {
    const { request } = this
    const { job } = request
    this.#hookContext ??= {
      job: { name: job.name, tags: job.tags, schedule: job.scheduleText, zone: job.zone },
      scheduledAt: this.#scheduledAt,
      trigger: request.trigger,
      initiator: request.initiator,
      attempt: this.attempt,
      instanceId: this.env.instanceId,
      startedAt: new Date(this.startedAt),
      ...(this.#missed ? { missed: this.#missed } : {}),
    }
    return this.#hookContext
  }

  /** Mark the attempt begun now. Built ahead of its instant, an attempt begins when it is started. */
  begin(): void {
    this.startedAt = this.env.clock.now()
  }

  /**
   * Call the job's code. A synchronous outcome (a value, a throw) is kept in `done`, a thenable in
   * `returned`; nothing the job does escapes from here.
   */
  call(): void {
    this.calledAt = this.env.clock.now()
    try {
      // In the job's scope: what its code leaves behind (timers, emitters, promises) stays its own.
      const { job } = this.request
      const returned: unknown = jobScope.run(this, () => job.run(this.ctx))
      if (isThenable(returned)) this.returned = returned
      else this.done = { status: 'succeeded', value: returned }
    } catch (error) {
      this.done = { status: 'failed', error }
    }
    if (this.done) this.doneAt = this.env.clock.now()
  }

  /**
   * For an attempt whose code returned a promise: the first of the promise settling, the timeout
   * (counted from the call) and `pending.interrupt`. The code may go on after a timeout or an
   * interrupt; `pending` says when it settles.
   */
  decide(pending: Pending, timeoutMs: number): Promise<Decided> {
    const { clock } = this.env
    return new Promise<Decided>((resolveDecided) => {
      let timer: TimerHandle | undefined
      const resolve = (decided: Decided) => {
        this.decided = true
        resolveDecided(decided)
      }
      pending.interrupt = (reason) => {
        const error = withoutFrames(new Error(reason))
        this.abort(error)
        resolve({ status: 'interrupted', error })
      }
      pending.fail = (error) => {
        if (timer) clock.clearTimeout(timer)
        this.abort(error)
        resolve({ status: 'failed', error })
      }
      pending.cancel = (error) => {
        if (timer) clock.clearTimeout(timer)
        this.abort(error)
        resolve({ status: 'cancelled', error })
      }
      if (timeoutMs > 0) {
        timer = clock.setTimeout(
          () => {
            const error = new Error(`timed out after ${formatDuration(timeoutMs)}`)
            error.name = 'TimeoutError'
            withoutFrames(error)
            this.abort(error)
            resolve({ status: 'timed_out', error })
          },
          timeoutMs - (clock.now() - this.calledAt),
        )
      }
      const settle = (decided: Decided) => {
        // Once: a promise whose own `then` was replaced may call both callbacks, or one twice.
        if (pending.codeDone) return
        pending.codeDone = true
        if (timer) clock.clearTimeout(timer)
        resolve(decided)
        pending.afterSettle?.()
      }
      const succeeded = (value: unknown) => settle({ status: 'succeeded', value })
      const failed = (error: unknown) => settle({ status: 'failed', error })
      try {
        // A native promise is used as is (no extra allocation or tick), so whatever the job put on it
        // runs here: a `constructor` getter (read by Promise.resolve), an own `then`. Either may
        // throw; that fails the attempt, as if the promise had rejected.
        Promise.resolve(this.returned).then(succeeded, failed)
      } catch (error) {
        failed(error)
      }
    })
  }

  /** The store update recording `decided` (its error already described, so callers describe it once). */
  outcome(
    decided: Decided,
    finishedAt: number,
    error: { message: string; stack?: string } | undefined,
    settled: boolean,
  ): RunOutcome {
    return {
      status: decided.status as RunOutcome['status'],
      finishedAt,
      errorMessage: error?.message ?? null,
      errorStack: error?.stack ?? null,
      result: decided.status === 'succeeded' ? summarise(decided.value) : null,
      output: this.output?.toJSON() ?? null,
      settled,
    }
  }

  private makeLogger(): JobLogger {
    const { clock, events } = this.env
    const line =
      (level: 'info' | 'warn' | 'error') =>
      (...args: unknown[]) => {
        const text = formatLog(args)
        const at = clock.now()
        this.out().add(level, text, at)
        events.emit('run:log', {
          runId: this.runId,
          job: this.request.job.name,
          attempt: this.attempt,
          level,
          text,
          at,
        })
      }
    return { info: line('info'), warn: line('warn'), error: line('error') }
  }
}

/**
 * An error the engine makes about a job (a timeout, an interrupt) says what happened; where in the
 * engine it was made is of no use in the job's record.
 */
function withoutFrames(error: Error): Error {
  error.stack = `${error.name}: ${error.message}`
  return error
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

function toMissed(missed: MissedInfo): MissedSlots {
  return { count: missed.count, first: new Date(missed.first), last: new Date(missed.last) }
}
