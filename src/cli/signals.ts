/**
 * SIGINT and SIGTERM for the two commands that run jobs, `start-scheduler` and `run-job`
 * (SEMANTICS §7): the first signal stops gracefully, running jobs getting the shutdown grace; a
 * second one stops at once (the engine's second `stop()` no longer waits) and what is still running
 * is recorded interrupted. Each signal is announced in the same words by both commands. SIGHUP
 * reloads the config of `start-scheduler`, as daemons do.
 */
import { formatDuration } from '../config/duration.js'

/** What listens for signals: `process`, or an emitter in tests. */
export interface SignalSource {
  on(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown
  off(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown
}

export interface StopOnSignalsOptions {
  /** Stops the engine; called on every signal (the second call hurries the first). */
  stop: () => Promise<void>
  /** Receives each signal's one-line announcement. */
  announce: (note: string, signal: NodeJS.Signals, count: number) => void
  /** What the first signal waits for: "running jobs", or a job's name. */
  waitingFor: string
  /** The shutdown grace, read when a signal comes (a config reload may have changed it). */
  graceMs: number | (() => number)
  /** @default process */
  source?: SignalSource
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM']

/** The announcement of the `count`th signal. */
export function signalNote(signal: NodeJS.Signals, count: number, waitingFor: string, graceMs: number): string {
  return count === 1
    ? `${signal}: stopping, waiting up to ${formatDuration(graceMs)} for ${waitingFor} to finish (send again to stop now)`
    : `${signal}: stopping now, what is still running is recorded interrupted`
}

/**
 * Listen for SIGINT and SIGTERM until the returned function is called. `stopped` settles when the
 * first stop it started has finished.
 */
export function stopOnSignals(options: StopOnSignalsOptions): { stopped: Promise<void>; dispose: () => void } {
  const source = options.source ?? process
  let count = 0
  let resolveStopped!: () => void
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve
  })
  const onSignal = (signal: NodeJS.Signals) => {
    count++
    const graceMs = typeof options.graceMs === 'function' ? options.graceMs() : options.graceMs
    options.announce(signalNote(signal, count, options.waitingFor, graceMs), signal, count)
    void options.stop().then(resolveStopped, resolveStopped)
  }
  for (const signal of SIGNALS) source.on(signal, onSignal)
  return {
    stopped,
    dispose: () => {
      for (const signal of SIGNALS) source.off(signal, onSignal)
    },
  }
}

/**
 * Call `reload` on each SIGHUP until the returned function is called. (Node ends a process on SIGHUP
 * when nothing listens for it.)
 */
export function reloadOnSignal(reload: () => void, source: SignalSource = process): () => void {
  const onSignal = () => reload()
  source.on('SIGHUP', onSignal)
  return () => {
    source.off('SIGHUP', onSignal)
  }
}
