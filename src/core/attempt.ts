// One attempt of a run: its state, the job's `ctx`, the call. The signal, log and hook context are
// built only when used: starting a thousand jobs on one instant must cost little per job.
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
import { formatLog } from './describe.js'
import type { EngineEmitter } from './events.js'
import type { ConsoleTarget } from './job-console.js'
import { jobScope, type StrayTarget } from './job-scope.js'
import { OutputBuffer } from './output.js'

export interface RunRequest {
  job: ResolvedJob
  /** The first attempt's row, already inserted `running`. */
  runId: number
  slot: number
  trigger: Trigger
  initiator: Initiator
  missed?: MissedInfo
  /** Overrides the job's timeout (run-job --timeout). */
  timeoutMs?: number
  /** Overrides the job's overlap rule for this run's retries (run-job --force passes 'allow'). */
  overlap?: 'skip' | 'allow'
}

/** How an attempt was decided: its status, with the job's return value or its error. */
export interface Verdict {
  status: RunStatus
  value?: unknown
  error?: unknown
}

/** The runner's record of a running attempt; `decide` sets the three ways to decide it. */
export interface AttemptHandle {
  /** Whether the job's code has settled (not merely whether the outcome was recorded). */
  codeDone: boolean
  /** Called once when the code settles after its outcome was decided otherwise (a timeout, an interrupt). */
  afterCodeDone: (() => void) | undefined
  interrupt: (reason: string) => void
  /** An error its code raised outside its call. */
  fail: (error: unknown) => void
  /** Asked for (`Scheduler.cancel`): its signal is aborted with an `AbortError` of `message`. */
  cancel: (message: string) => void
}

export interface AttemptEnv {
  clock: Clock
  events: EngineEmitter
  instanceId: string
  /** Whether a job's console calls also reach the process's console. */
  echoConsole: boolean
}

/** `signal` and `log` are getters, so they cost nothing until read. */
class Context implements JobContext {
  readonly attempt: number
  readonly scheduledAt: Date
  readonly trigger: Trigger
  readonly job: { name: string; tags: readonly string[] }
  declare readonly missed?: MissedSlots
  readonly #owner: Attempt

  constructor(owner: Attempt) {
    const { request } = owner
    const { missed } = request
    this.#owner = owner
    this.attempt = owner.attempt
    this.scheduledAt = new Date(request.slot)
    this.trigger = request.trigger
    this.job = { name: request.job.name, tags: request.job.tags }
    if (missed) this.missed = { count: missed.count, first: new Date(missed.first), last: new Date(missed.last) }
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
  done: Verdict | undefined
  returned: PromiseLike<unknown> | undefined
  /** Before its `beforeRun` hooks, if any. */
  startedAt = 0
  /** The timeout counts from here. */
  calledAt = 0
  output: OutputBuffer | undefined
  #controller: AbortController | undefined
  #aborted: { reason: unknown } | undefined
  #logger: JobLogger | undefined
  #hookContext: HookContext | undefined
  decided = false
  /** The outcome last handed to the store. */
  recorded: RunOutcome | undefined
  onStray: ((error: unknown) => void) | undefined

  constructor(
    readonly request: RunRequest,
    readonly runId: number,
    readonly attempt: number,
    private readonly env: AttemptEnv,
  ) {
    this.ctx = new Context(this)
  }

  /** Its AbortController is made only when read (one per attempt costs measurably); an abort waits for it. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController()
      if (this.#aborted) this.#controller.abort(this.#aborted.reason)
    }
    return this.#controller.signal
  }

  /** The signal's listeners run in the job's scope, so what they throw is the job's. */
  abort(reason: unknown): void {
    if (this.#aborted) return
    this.#aborted = { reason }
    const controller = this.#controller
    if (controller) jobScope.run(this, () => controller.abort(reason))
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
    if (this.#logger) return this.#logger
    const { clock, events } = this.env
    const { runId, attempt } = this
    const job = this.request.job.name
    const line =
      (level: 'info' | 'warn' | 'error') =>
      (...args: unknown[]) => {
        const text = formatLog(args)
        const at = clock.now()
        this.out().add(level, text, at)
        events.emit('run:log', { runId, job, attempt, level, text, at })
      }
    this.#logger = { info: line('info'), warn: line('warn'), error: line('error') }
    return this.#logger
  }

  hookContext(): HookContext {
    const { request, ctx } = this
    const { job } = request
    this.#hookContext ??= {
      job: { name: job.name, tags: job.tags, schedule: job.scheduleText, zone: job.zone },
      scheduledAt: ctx.scheduledAt,
      trigger: request.trigger,
      initiator: request.initiator,
      attempt: this.attempt,
      instanceId: this.env.instanceId,
      startedAt: new Date(this.startedAt),
      ...(ctx.missed ? { missed: ctx.missed } : {}),
    }
    return this.#hookContext
  }

  /** Built ahead of its instant, an attempt begins when it is started; `run:started` is told before its code runs. */
  begin(): void {
    const { clock, events } = this.env
    this.startedAt = clock.now()
    if (events.listenerCount('run:started') === 0) return
    const { request } = this
    events.emit('run:started', {
      runId: this.runId,
      job: request.job.name,
      slot: request.slot,
      trigger: request.trigger,
      initiator: request.initiator,
      attempt: this.attempt,
      startedAt: this.startedAt,
    })
  }

  /** Decided interrupted without calling the code: a stop came while its `beforeRun` hook ran. */
  interruptBeforeCall(reason: string): void {
    this.calledAt = this.env.clock.now()
    this.done = { status: 'interrupted', error: engineError(reason) }
  }

  /** Call the job's code; nothing the job does escapes from here. */
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
  }

  /** The first of the promise settling, the timeout and `handle`'s calls; `handle` says when the code settles. */
  decide(handle: AttemptHandle, timeoutMs: number): Promise<Verdict> {
    const { clock } = this.env
    return new Promise<Verdict>((resolveVerdict) => {
      let timer: TimerHandle | undefined
      const resolve = (decided: Verdict) => {
        this.decided = true
        resolveVerdict(decided)
      }
      handle.interrupt = (reason) => {
        const error = engineError(reason)
        this.abort(error)
        resolve({ status: 'interrupted', error })
      }
      const end = (status: 'failed' | 'cancelled', error: unknown) => {
        if (timer) clock.clearTimeout(timer)
        this.abort(error)
        resolve({ status, error })
      }
      handle.fail = (error) => end('failed', error)
      // Named as an aborted fetch names it.
      handle.cancel = (message) => end('cancelled', engineError(message, 'AbortError'))
      if (timeoutMs > 0) {
        timer = clock.setTimeout(
          () => {
            const error = engineError(`timed out after ${formatDuration(timeoutMs)}`, 'TimeoutError')
            this.abort(error)
            resolve({ status: 'timed_out', error })
          },
          timeoutMs - (clock.now() - this.calledAt),
        )
      }
      const conclude = (decided: Verdict) => {
        // Once: a promise whose own `then` was replaced may call both callbacks, or one twice.
        if (handle.codeDone) return
        handle.codeDone = true
        if (timer) clock.clearTimeout(timer)
        resolve(decided)
        handle.afterCodeDone?.()
      }
      const succeeded = (value: unknown) => conclude({ status: 'succeeded', value })
      const failed = (error: unknown) => conclude({ status: 'failed', error })
      try {
        // A native promise costs no extra tick here; a `constructor` getter or own `then` on it may throw.
        Promise.resolve(this.returned).then(succeeded, failed)
      } catch (error) {
        failed(error)
      }
    })
  }
}

/** An error the engine makes about a job (a timeout, an interrupt, a cancel): its frames say nothing of the job. */
function engineError(message: string, name?: string): Error {
  const error = new Error(message)
  if (name !== undefined) error.name = name
  error.stack = `${error.name}: ${message}`
  return error
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}
