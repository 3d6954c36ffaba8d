/**
 * Signals for `start-scheduler` and `run-job` (SEMANTICS §7): the first SIGINT/SIGTERM stops within
 * the shutdown grace, a second at once (what runs is recorded interrupted).
 * `run-job` stops on SIGHUP too (its terminal closed); start-scheduler's SIGHUP, which reloads the
 * config, is follow-config.ts's.
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
  announce: (note: string, signal: NodeJS.Signals, count: number) => void
  /** "running jobs", or a job's name. */
  waitingFor: string
  /** Read when a signal comes (a config reload may have changed it). */
  graceMs: number | (() => number)
  /** @default ['SIGINT', 'SIGTERM'] */
  signals?: readonly NodeJS.Signals[]
  /** @default process */
  source?: SignalSource
}

export function signalNote(signal: NodeJS.Signals, count: number, waitingFor: string, graceMs: number): string {
  return count === 1
    ? `${signal}: stopping, waiting up to ${formatDuration(graceMs)} for ${waitingFor} to finish (send again to stop now)`
    : `${signal}: stopping now, what is still running is recorded interrupted`
}

/** Listen for the signals (SIGINT and SIGTERM unless told) until disposed; `stopped` settles when the first stop has finished. */
export function stopOnSignals(options: StopOnSignalsOptions): { stopped: Promise<void>; dispose: () => void } {
  const source = options.source ?? process
  const signals = options.signals ?? ['SIGINT', 'SIGTERM']
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
  for (const signal of signals) source.on(signal, onSignal)
  return {
    stopped,
    dispose: () => {
      for (const signal of signals) source.off(signal, onSignal)
    },
  }
}
