/**
 * What the runner has in flight, tracked three ways because three different questions are asked of it.
 *
 * - Attempts whose code is still executing (the job returned a promise that has not settled), with a
 *   count per job: the overlap guard asks whether a job is still running here, which must not walk
 *   every running attempt; shutdown walks them once, to interrupt those not yet recorded.
 * - Runs not yet finished, counted rather than kept: a run (all its attempts, retries and hooks)
 *   until its last outcome is written. Shutdown waits for the count to reach zero, so no outcome is
 *   still being written when the store closes.
 * - The waits between a failed attempt and its retry: shutdown ends them all at once, and a retry
 *   that has not started by then never starts (the runner records it as interrupted instead).
 *
 * Runs claimed ahead and not yet started are the scheduler's (starts.ts), not the runner's: they
 * have no attempt yet.
 *
 * All of it sits on the path of every job start, so nothing here allocates per run beyond the one
 * entry of an attempt that keeps running after its call.
 */
import type { RunStatus } from '../store/types.js'
import type { Pending } from './attempt.js'
import type { Clock, TimerHandle } from './clock.js'

/** An attempt whose code is still executing (it returned a promise that has not settled). */
export interface ActiveAttempt extends Pending {
  job: string
  runId: number
  /** Set once the outcome is in the store, so shutdown and the attempt never both record it. */
  recorded: boolean
  /** Called once the outcome was handed to the store and written (or kept to be written again). */
  onRecorded: ((status: RunStatus) => void) | undefined
}

/** Replaced by `Attempt.decide` before anything can call it. */
const notDecidingYet = (): void => {}

export class InFlight {
  private readonly active = new Map<number, ActiveAttempt>()
  /** Active attempts per job name, so the overlap check does not walk every active attempt. */
  private readonly activeByJob = new Map<string, number>()
  private runs = 0
  /** Who waits for there to be no run in flight. */
  private idle: { promise: Promise<void>; resolve: () => void } | undefined
  private readonly backoffs = new Set<{ timer: TimerHandle; cancel: () => void }>()
  private backoffsEnded = false

  constructor(private readonly clock: Clock) {}

  /** Attempts whose code is still executing in this process, by job name. */
  activeCount(job: string): number {
    return this.activeByJob.get(job) ?? 0
  }

  /** Count an attempt as executing until `removeActive`; returns its entry, for `Attempt.decide`. */
  addActive(job: string, runId: number): ActiveAttempt {
    const entry: ActiveAttempt = {
      job,
      runId,
      codeDone: false,
      afterSettle: undefined,
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

  /** Stop counting the attempt (a second call does nothing). */
  removeActive(entry: ActiveAttempt): void {
    if (!this.active.delete(entry.runId)) return
    const left = (this.activeByJob.get(entry.job) ?? 1) - 1
    if (left > 0) this.activeByJob.set(entry.job, left)
    else this.activeByJob.delete(entry.job)
  }

  /** The executing attempt of this run, if its code is still running here. */
  activeAttempt(runId: number): ActiveAttempt | undefined {
    return this.active.get(runId)
  }

  /** Shutdown: decide every executing attempt whose outcome is not yet in the store as interrupted. */
  interruptUnrecorded(reason: string): void {
    for (const attempt of this.active.values()) {
      if (!attempt.recorded) attempt.interrupt(reason)
    }
  }

  /** A run begins; each must be matched by a `runEnded`. */
  runBegan(): void {
    this.runs++
  }

  runEnded(): void {
    this.runs--
    if (this.runs === 0 && this.idle) {
      this.idle.resolve()
      this.idle = undefined
    }
  }

  /** Resolves when no run is in flight. */
  whenIdle(): Promise<void> {
    if (this.runs === 0) return Promise.resolve()
    if (!this.idle) {
      let resolve!: () => void
      const promise = new Promise<void>((r) => {
        resolve = r
      })
      this.idle = { promise, resolve }
    }
    return this.idle.promise
  }

  /** Wait `ms` before a retry; resolves false if `endBackoffs` cut the wait (or came before it). */
  backoff(ms: number): Promise<boolean> {
    if (this.backoffsEnded) return Promise.resolve(false)
    return new Promise((resolve) => {
      const entry = {
        timer: this.clock.setTimeout(() => {
          this.backoffs.delete(entry)
          resolve(true)
        }, ms),
        cancel: () => resolve(false),
      }
      this.backoffs.add(entry)
    })
  }

  /** Shutdown: end every backoff now (each resolves false), and every later one at once. */
  endBackoffs(): void {
    this.backoffsEnded = true
    for (const entry of this.backoffs) {
      this.clock.clearTimeout(entry.timer)
      entry.cancel()
    }
    this.backoffs.clear()
  }
}
