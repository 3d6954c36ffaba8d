/**
 * Errors a job's code raises outside its call: a `ctx.signal` listener that throws when the attempt
 * times out or the scheduler stops (Node rethrows listener errors on a later tick), a promise the
 * job started and nobody awaits that rejects. They reach the process, not the attempt, and by default
 * end a Node process, with every other job of the scheduler in it.
 */
import type { EngineEmitter } from './events.js'

/** What receives the process-wide events (the process, or a stand-in in tests). */
export interface StrayErrorSource {
  on(event: 'uncaughtException' | 'unhandledRejection', listener: (error: unknown) => void): unknown
  off(event: 'uncaughtException' | 'unhandledRejection', listener: (error: unknown) => void): unknown
}

export const STRAY_ERROR_MESSAGE =
  'uncaught error outside any job call (such as a ctx.signal listener that threw, or a promise nothing awaited)'

/**
 * Keep the process alive through stray errors and report each as an `engine:error` event instead.
 * Returns a function that removes the listeners. Having a listener for these events is what stops
 * Node from exiting, for every error of the process: an app embedding the scheduler decides whether
 * it wants that; `crons start-scheduler` and `crons run-job` do.
 */
export function reportStrayErrors(events: EngineEmitter, source: StrayErrorSource = process): () => void {
  const report = (error: unknown) => {
    events.emit('engine:error', { message: STRAY_ERROR_MESSAGE, error })
  }
  source.on('uncaughtException', report)
  source.on('unhandledRejection', report)
  return () => {
    source.off('uncaughtException', report)
    source.off('unhandledRejection', report)
  }
}
