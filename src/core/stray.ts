// Errors a job's code raises outside its call (a throwing timer, an unawaited rejection), which would
// end the process: pinned on the attempt in scope (job-scope.ts). docs/engine.md: "Stray errors".
import type { EngineEmitter } from './events.js'
import { jobScope } from './job-scope.js'

/** The process, or a stand-in in tests. */
export interface StrayErrorSource {
  on(event: 'uncaughtException' | 'unhandledRejection', listener: (error: unknown) => void): unknown
  off(event: 'uncaughtException' | 'unhandledRejection', listener: (error: unknown) => void): unknown
}

export const STRAY_ERROR_MESSAGE = 'uncaught error outside any job (such as a promise nothing awaited)'

/**
 * Keep the process alive through stray errors: a job's fail its attempt (or join its record), others
 * become `engine:error`. Node then exits on no error of the process, so an app embedding the scheduler
 * opts in; the CLI does. Returns a function that removes the listeners.
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
