// The runner's pending work: attempts executing (counted per job for the overlap guard), runs not
// finished (shutdown waits for none), backoffs (shutdown ends them). On every job start's path: nothing
// here allocates per run beyond the entry of an attempt still running after its call.
import type { AttemptRecord, RunStatus } from '../store/types.js'
import type { AttemptHandle } from './attempt.js'
import type { Clock, TimerHandle } from './clock.js'

/** An attempt whose code is still executing. */
export interface ActiveAttempt extends AttemptHandle {
  job: string
  runId: number
  /** Set once the outcome is in the store, so shutdown and the attempt never both record it. */
  recorded: boolean
  /** Called once the outcome was written (or kept to be written again). */
  onRecorded: ((status: RunStatus) => void) | undefined
}

/** A cancel of the retry a backoff waits for: `done` is told the attempt recorded (undefined if none was). */
export interface RetryCancel {
  message: string
  done: (cancelled: AttemptRecord | undefined) => void
}

/** How a backoff ended: waited out (true), cut by a stop (false), or its retry cancelled. */
export type BackoffEnd = boolean | RetryCancel

interface Backoff {
  timer: TimerHandle
  runId: number | undefined
  end: (how: BackoffEnd) => void
}

/** Replaced by `Attempt.decide` before anything can call it. */
const notDecidingYet = (): void => {}

export class InFlight {
  private readonly active = new Map<number, ActiveAttempt>()
  private readonly activeByJob = new Map<string, number>()
  private runs = 0
  private idle: Promise<void> | undefined
  private becameIdle: (() => void) | undefined
  private readonly backoffs = new Set<Backoff>()
  private backoffsEnded = false

  constructor(private readonly clock: Clock) {}

  activeCount(job: string): number {
    return this.activeByJob.get(job) ?? 0
  }

  addActive(job: string, runId: number): ActiveAttempt {
    const entry: ActiveAttempt = {
      job,
      runId,
      codeDone: false,
      afterCodeDone: undefined,
      recorded: false,
      onRecorded: undefined,
      interrupt: notDecidingYet,
      fail: notDecidingYet,
      cancel: notDecidingYet,
    }
    this.active.set(runId, entry)
    this.activeByJob.set(job, (this.activeByJob.get(job) ?? 0) + 1)
    return entry
  }

  /** A second call does nothing. */
  removeActive(entry: ActiveAttempt): void {
    if (!this.active.delete(entry.runId)) return
    const left = (this.activeByJob.get(entry.job) ?? 1) - 1
    if (left > 0) this.activeByJob.set(entry.job, left)
    else this.activeByJob.delete(entry.job)
  }

  activeAttempt(runId: number): ActiveAttempt | undefined {
    return this.active.get(runId)
  }

  interruptUnrecorded(reason: string): void {
    for (const attempt of this.active.values()) {
      if (!attempt.recorded) attempt.interrupt(reason)
    }
  }

  runBegan(): void {
    this.runs++
  }

  runEnded(): void {
    this.runs--
    if (this.runs === 0 && this.idle) {
      this.becameIdle?.()
      this.idle = undefined
    }
  }

  whenIdle(): Promise<void> {
    if (this.runs === 0) return Promise.resolve()
    this.idle ??= new Promise<void>((resolve) => {
      this.becameIdle = resolve
    })
    return this.idle
  }

  /**
   * Wait `ms` before a retry of run `runId`; resolves false if `endBackoffs` cut the wait (or came before
   * it), the cancel if `cancelRetry` did.
   */
  backoff(ms: number, runId?: number): Promise<BackoffEnd> {
    if (this.backoffsEnded) return Promise.resolve(false)
    return new Promise((resolve) => {
      const entry: Backoff = {
        timer: this.clock.setTimeout(() => {
          this.backoffs.delete(entry)
          resolve(true)
        }, ms),
        runId,
        end: resolve,
      }
      this.backoffs.add(entry)
    })
  }

  /** End the backoff before run `runId`'s retry with `cancel`; false when none waits here. */
  cancelRetry(runId: number, cancel: RetryCancel): boolean {
    for (const entry of this.backoffs) {
      if (entry.runId !== runId) continue
      this.end(entry, cancel)
      return true
    }
    return false
  }

  /** End every backoff now (each resolves false), and every later one at once. */
  endBackoffs(): void {
    this.backoffsEnded = true
    for (const entry of this.backoffs) this.end(entry, false)
  }

  private end(entry: Backoff, how: BackoffEnd): void {
    this.clock.clearTimeout(entry.timer)
    this.backoffs.delete(entry)
    entry.end(how)
  }
}
