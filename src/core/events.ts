// The engine's typed events (the CLI prints them). docs/engine.md: "Guarded emits".
import { EventEmitter } from 'node:events'
import type { Initiator, ResolvedJob, Trigger } from '../config/types.js'
import type { MissedInfo, RunStatus } from '../store/types.js'
import { isThenable } from './attempt.js'
import { jobScope } from './job-scope.js'
import type { ReloadResult } from './reload.js'

export interface RunEventBase {
  runId: number
  job: string
  slot: number
  trigger: Trigger
  initiator: Initiator
  attempt: number
}

export interface RunStartedEvent extends RunEventBase {
  startedAt: number
}

export interface RunFinishedEvent extends RunStartedEvent {
  status: RunStatus
  finishedAt: number
  durationMs: number
  error?: { message: string; stack?: string }
  /** When a retry follows: its delay. */
  retryInMs?: number
}

export interface EngineEvents {
  'run:started': [RunStartedEvent]
  'run:finished': [RunFinishedEvent]
  /** A line the job wrote with ctx.log. */
  'run:log': [
    { runId: number; job: string; attempt: number; level: 'info' | 'warn' | 'error'; text: string; at: number },
  ]
  /** A slot not run because the job was still running or paused. */
  'slot:skipped': [{ job: string; slot: number; runId: number; reason: string }]
  /** Slots missed during downtime or a clock jump (one event per job per outage). */
  'slot:missed': [{ job: string; runId: number; missed: MissedInfo; catchUp: boolean }]
  /** The timer woke later than planned (event loop blocked, machine suspended). */
  'timer:overdue': [{ plannedAt: number; wokeAt: number; lateMs: number }]
  /** Runs of a dead scheduler instance marked interrupted. */
  'runs:interrupted': [{ runIds: number[] }]
  /** A hook threw or timed out; the run went on. */
  'hook:failed': [{ job: string; hook: string; runId: number; message: string }]
  /**
   * This host's clock is more than a second from the store's, or (`skewed` false) back within it;
   * sent when the skew appears, changes by more than a second, or goes away.
   */
  'clock:skew': [{ offsetMs: number; skewed: boolean }]
  /** The store cannot be reached: once per outage; everything is retried, slots not served are missed. */
  'store:unreachable': [{ message: string; error: unknown }]
  /** The store answers again after `store:unreachable`. */
  'store:reachable': [{ downMs: number }]
  /** Something inside the engine went wrong (store error); the engine keeps going. */
  'engine:error': [{ message: string; error: unknown }]
  /** The scheduler is stopping itself: its loop stopped waking up, or its state file was deleted or replaced. */
  'scheduler:failed': [{ message: string; error: unknown }]
  /** `reload()` applied a new config: the jobs it added, removed and changed, and what it could not apply. */
  'config:reloaded': [ReloadResult]
  started: [{ instanceId: string }]
  stopped: [{ instanceId: string }]
}

export type EngineListener<K extends keyof EngineEvents> = (...args: EngineEvents[K]) => void

/** The emitter's API, typed by event; declared here so the package's types need no `@types/node`. */
export interface TypedEmitter {
  on<K extends keyof EngineEvents>(event: K, listener: EngineListener<K>): this
  once<K extends keyof EngineEvents>(event: K, listener: EngineListener<K>): this
  off<K extends keyof EngineEvents>(event: K, listener: EngineListener<K>): this
  emit<K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]): boolean
  listenerCount(event: keyof EngineEvents): number
  rawListeners(event: keyof EngineEvents): unknown[]
  removeAllListeners(event?: keyof EngineEvents): this
}

/**
 * Node's EventEmitter, except that a listener that throws becomes one `engine:error` (one of
 * `engine:error` is ignored) and the other listeners still run.
 */
export class EngineEmitter extends (EventEmitter as new () => TypedEmitter) {
  override emit<K extends keyof EngineEvents>(event: K, ...args: EngineEvents[K]): boolean {
    const listeners = this.rawListeners(event) as ((...a: EngineEvents[K]) => void)[]
    if (listeners.length === 0) return false
    const threw = (error: unknown) => {
      if (event !== 'engine:error') this.emit('engine:error', { message: `a listener of "${event}" threw`, error })
    }
    for (const listener of listeners) {
      try {
        // `rawListeners` keeps `once` wrappers, which remove themselves when called. Outside the job's
        // scope: what a listener prints or throws later is its own, not the job's whose code emitted it.
        const returned: unknown = jobScope.exit(() => listener.apply(this, args))
        // An async listener's rejection is its throw, later (unhandled, it would end the process).
        if (isThenable(returned)) returned.then(undefined, threw)
      } catch (error) {
        threw(error)
      }
    }
    return true
  }
}

export function emitRunFinished(
  events: EngineEmitter,
  request: { job: ResolvedJob; slot: number; trigger: Trigger; initiator: Initiator },
  runId: number,
  attempt: number,
  status: RunStatus,
  startedAt: number,
  finishedAt: number,
  error?: { message: string; stack?: string },
  retryInMs?: number,
): void {
  if (events.listenerCount('run:finished') === 0) return
  events.emit('run:finished', {
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
