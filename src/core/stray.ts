/**
 * Errors a job's code raises outside its call: a timer or emitter callback that throws, a promise the
 * job started and nobody awaits that rejects, a `ctx.signal` listener that throws when the attempt
 * times out. They reach the process, not the attempt, and by default end a Node process, with every
 * other job of the scheduler in it.
 *
 * Each job's code runs inside an AsyncLocalStorage scope naming its attempt, and Node keeps that
 * scope for everything the code schedules, so such an error is pinned on the attempt that caused it:
 * it fails the attempt if it is still running, else it is added to its record. An error with no
 * attempt in scope stays an `engine:error`.
 */
import type { EngineEmitter } from './events.js'
import { jobScope } from './job-scope.js'

/** What receives the process-wide events (the process, or a stand-in in tests). */
export interface StrayErrorSource {
  on(event: 'uncaughtException' | 'unhandledRejection', listener: (error: unknown) => void): unknown
  off(event: 'uncaughtException' | 'unhandledRejection', listener: (error: unknown) => void): unknown
}

export const STRAY_ERROR_MESSAGE = 'uncaught error outside any job (such as a promise nothing awaited)'

/**
 * Keep the process alive through stray errors: those of a job's code fail (or are added to) its
 * attempt, the others become `engine:error` events. Returns a function that removes the listeners.
 * Having a listener for these events is what stops Node from exiting, for every error of the
 * process: an app embedding the scheduler decides whether it wants that; `crons start-scheduler` and
 * `crons run-job` do.
 */
export function reportStrayErrors(events: EngineEmitter, source: StrayErrorSource = process): () => void {
  const report = (error: unknown) => {
    const target = jobScope.getStore()
    if (target) target.strayError(error)
    else events.emit('engine:error', { message: STRAY_ERROR_MESSAGE, error })
  }
  source.on('uncaughtException', report)
  source.on('unhandledRejection', report)
  return () => {
    source.off('uncaughtException', report)
    source.off('unhandledRejection', report)
  }
}
