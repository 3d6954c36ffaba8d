/**
 * One attempt of a run: its state, the context the job's code receives, and the call itself. The
 * signal, the log and the hook context are built only when something uses them: starting a thousand
 * jobs on one instant must cost as little as possible per job.
 */
import { format } from 'node:util'
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
import type { EngineEmitter } from './events.js'
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

/** What an attempt came to: the job's code settled, it timed out, or shutdown interrupted it. */
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
}

/** What every attempt of a runner shares. */
export interface AttemptEnv {
  clock: Clock
  events: EngineEmitter
  instanceId: string
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

export class Attempt {
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

  abort(reason: unknown): void {
    this.#abort ??= new LazyAbort()
    this.#abort.abort(reason)
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
      const returned: unknown = this.request.job.run(this.ctx)
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
    return new Promise<Decided>((resolve) => {
      let timer: TimerHandle | undefined
      pending.interrupt = (reason) => {
        const error = new Error(reason)
        this.abort(error)
        resolve({ status: 'interrupted', error })
      }
      if (timeoutMs > 0) {
        timer = clock.setTimeout(
          () => {
            const error = new Error(`timed out after ${timeoutMs / 1000}s`)
            error.name = 'TimeoutError'
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

/** What a description says of a value (or a part of one) that cannot be read. */
const UNREADABLE_ERROR = '<unreadable error>'
const UNREADABLE_MESSAGE = '<unreadable message>'
const UNREADABLE_VALUE = '<unreadable value>'
const UNSERIALISABLE_RESULT = JSON.stringify('<unserialisable result>')

/**
 * Message and stack of anything thrown, Error or not. Total: it never throws, whatever the job threw
 * (getters that throw, Proxies, revoked Proxies, objects whose toString or inspect throws, null
 * prototypes); what cannot be read is left out, or said to be unreadable. Its strings are plain
 * strings, safe to store and print.
 */
export function describeError(error: unknown): { message: string; stack?: string } {
  try {
    return describe(error)
  } catch {
    // Nothing below should throw; this is the last line of defence, not a path.
    return { message: UNREADABLE_ERROR }
  }
}

function describe(error: unknown): { message: string; stack?: string } {
  if (typeof error === 'string') return { message: error }
  if (!isError(error)) return { message: `non-Error thrown: ${inspectSafely(error) ?? UNREADABLE_VALUE}` }
  const message = readText(error, 'message')
  const name = readText(error, 'name')
  const stack = readText(error, 'stack')
  const withStack = (text: string) => (stack ? { message: text, stack } : { message: text })
  // As before: the message, else (an empty one) the name.
  if (message !== undefined) return withStack(message || name || 'Error')
  // The message cannot be read (a throwing getter; V8's stack then cannot be read either).
  return name === undefined ? withStack(UNREADABLE_ERROR) : withStack(`${name || 'Error'}: ${UNREADABLE_MESSAGE}`)
}

/** `instanceof Error`, false where asking throws (a Proxy whose getPrototypeOf trap throws, a revoked one). */
function isError(value: unknown): value is Error {
  try {
    return value instanceof Error
  } catch {
    return false
  }
}

/** A property as text: '' when absent, undefined when it cannot be read or made text. */
function readText(target: object, key: 'message' | 'name' | 'stack'): string | undefined {
  let value: unknown
  try {
    value = (target as Record<string, unknown>)[key]
  } catch {
    return undefined
  }
  if (typeof value === 'string') return value
  if (value === undefined || value === null) return ''
  if (typeof value !== 'object' && typeof value !== 'function') return String(value)
  return inspectSafely(value)
}

/** `util.format('%O')` of a value, or undefined if inspecting it throws (a custom inspect, a getter). */
function inspectSafely(value: unknown): string | undefined {
  try {
    return format('%O', value)
  } catch {
    // Not even `String(value)`: it calls the value's own toString.
    return undefined
  }
}

/** A ctx.log line; arguments whose inspection throws are replaced rather than fail the job's call. */
function formatLog(args: unknown[]): string {
  try {
    return format(...args)
  } catch {
    return args.map((arg) => (typeof arg === 'string' ? arg : (inspectSafely(arg) ?? UNREADABLE_VALUE))).join(' ')
  }
}

/** JSON of a job's return value, bounded, for the run record. Never throws. */
function summarise(value: unknown): string | null {
  if (value === undefined) return null
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch {
    // Cyclic, a BigInt, a toJSON or getter that throws: what inspection shows, else a marker.
    const shown = inspectSafely(value)
    return shown === undefined ? UNSERIALISABLE_RESULT : JSON.stringify(shown.slice(0, 4096))
  }
  if (text === undefined) return null
  return text.length > 4096 ? `${text.slice(0, 4093)}...` : text
}
