/**
 * What the scheduler does with the outcome of a claim batch: runs whose instant has come start at
 * once; runs claimed ahead are staged (their attempts built) and started on their instant; skipped,
 * paused and missed slots are reported. Runs still waiting when the scheduler stops are handed back
 * so they can be recorded, not lost.
 */
import type { ResolvedJob } from '../config/types.js'
import type { ClaimOutcome, RunOutcome, SlotClaim } from '../store/types.js'
import type { Clock, TimerHandle } from './clock.js'
import { dueAt, missedSlot } from './due.js'
import type { EngineEmitter, EngineEvents } from './events.js'
import type { Recorder } from './recorder.js'
import type { Runner, RunRequest, StagedRuns } from './runner.js'

/**
 * Runs claimed ahead are woken this long before their instant and, when precise starts are on, wait
 * out the rest with the clock's `waitUntil`: a Node timer fires a millisecond or more late, and a
 * pause of the main thread (a garbage collection) just before the instant delays a wake-up that
 * comes later. Why 8 ms, and what it costs, is measured in bench/FINDINGS.md (see docs/engine.md,
 * "Precise starts").
 */
const PRECISE_START_MS = 8
/**
 * The wait gives up after this long (then the start re-arms a timer): the lead, plus as much again
 * for a timer that fires early or a wall clock stepped back; it bounds how long one wait blocks.
 */
const PRECISE_WAIT_MAX_MS = PRECISE_START_MS * 2
/**
 * After a start that waited precisely, batches due within this long get plain timers (a millisecond
 * or two late at worst): jittered jobs or `at` instants can put a batch on every millisecond, and
 * back-to-back waits would block the event loop for as long as they keep coming. This bounds the
 * blocking to about a tenth of the time (8 ms in 80 at most; once a second for jobs every second).
 */
const PRECISE_WAIT_SPACING_MS = PRECISE_START_MS * 10

export interface StartsOptions {
  /** A start re-armed for an instant this far off or more sleeps this long and looks at the clock again. */
  maxSleepMs: number
  /** Where the outcomes of runs claimed but never started are written. */
  recorder: () => Recorder | undefined
  /**
   * Wait out the last milliseconds before an instant with the clock's blocking `waitUntil`. It
   * blocks the event loop for up to PRECISE_WAIT_MAX_MS, so it is for `start-scheduler`, whose
   * process does nothing else; an app embedding the scheduler gets plain timers unless it asks.
   */
  precise: boolean
}

interface Waiting {
  at: number
  timer: TimerHandle
  requests: RunRequest[]
  /** This batch waits for its instant precisely (once granted, also after a wait cut short). */
  precise: boolean
}

export class Starts {
  private readonly waiting = new Set<Waiting>()
  /** Callers of `whenStarted()` waiting for `waiting` to empty. */
  private idle: (() => void)[] = []
  /** No batch starts a precise wait before this instant (see PRECISE_WAIT_SPACING_MS). */
  private plainUntil = Number.NEGATIVE_INFINITY

  constructor(
    private readonly clock: Clock,
    private readonly events: EngineEmitter,
    private readonly runner: () => Runner,
    private readonly options: StartsOptions,
  ) {}

  /** The earliest instant a claimed run waits for, or +Infinity. */
  soonest(): number {
    let soonest = Number.POSITIVE_INFINITY
    for (const waiting of this.waiting) soonest = Math.min(soonest, waiting.at)
    return soonest
  }

  /**
   * Act on a claim batch's outcomes (one per claim, in order). Returns how long building the runs
   * claimed ahead took (their attempts and contexts): work done before their start timer is armed,
   * which the claim lead must cover as well as the claim.
   */
  dispatch(claims: readonly SlotClaim[], jobs: readonly ResolvedJob[], outcomes: readonly ClaimOutcome[]): number {
    const now = this.clock.now()
    const startNow: RunRequest[] = []
    const later = new Map<number, RunRequest[]>()
    const caughtUp: EngineEvents['slot:missed'][0][] = []
    for (let i = 0; i < outcomes.length; i++) {
      const outcome = outcomes[i] as ClaimOutcome
      const claim = claims[i] as SlotClaim
      const job = jobs[i] as ResolvedJob
      switch (outcome.kind) {
        case 'started': {
          const request: RunRequest = {
            job,
            runId: outcome.runId,
            slot: claim.slot,
            trigger: claim.trigger,
            initiator: 'scheduler',
          }
          if (claim.missed) {
            request.missed = claim.missed
            caughtUp.push({ job: job.name, runId: outcome.runId, missed: claim.missed, catchUp: true })
          }
          // collectDue says when each run starts; computed again only for a claim made without it.
          const at = claim.startAt ?? dueAt(job, claim.slot)
          if (at <= now) startNow.push(request)
          else {
            const batch = later.get(at)
            if (batch) batch.push(request)
            else later.set(at, [request])
          }
          break
        }
        case 'skipped':
          this.events.emit('slot:skipped', {
            job: job.name,
            slot: claim.slot,
            runId: outcome.runId,
            reason: outcome.reason,
          })
          break
        case 'paused':
          this.events.emit('slot:skipped', { job: job.name, slot: claim.slot, runId: outcome.runId, reason: 'paused' })
          break
        case 'missed':
          if (claim.missed) {
            this.events.emit('slot:missed', {
              job: job.name,
              runId: outcome.runId,
              missed: claim.missed,
              catchUp: false,
            })
          }
          break
        case 'taken':
          break
      }
    }
    if (startNow.length > 0) this.runner().executeAll(startNow)
    // Reported after the runs due now were called.
    for (const event of caughtUp) this.events.emit('slot:missed', event)
    const staging = this.clock.now()
    for (const [at, requests] of later) this.startAt(at, requests)
    return this.clock.now() - staging
  }

  /**
   * A start woken later than a job's misfire grace after its instant (the machine was suspended, or
   * the event loop blocked, between the claim and the instant) is recorded as missed, not run late.
   * A job with catchUp runs anyway, as a catch-up of that one slot would.
   */
  private withoutMisfired(staged: StagedRuns, at: number, now: number): StagedRuns {
    const late = now - at
    const misfired = (request: RunRequest) => late > request.job.misfireGraceMs && !request.job.catchUp
    if (!staged.requests.some(misfired)) return staged
    const requests: RunRequest[] = []
    const attempts: StagedRuns['attempts'][number][] = []
    const missed: RunRequest[] = []
    staged.requests.forEach((request, i) => {
      if (misfired(request)) missed.push(request)
      else {
        requests.push(request)
        attempts.push(staged.attempts[i])
      }
    })
    for (const request of missed) {
      this.events.emit('slot:missed', {
        job: request.job.name,
        runId: request.runId,
        missed: missedSlot(request.slot),
        catchUp: false,
      })
    }
    void this.record(missed, (request) => ({
      status: 'missed',
      finishedAt: now,
      detail: JSON.stringify(missedSlot(request.slot)),
      settled: true,
    }))
    return { requests, attempts }
  }

  /**
   * Stopping: runs claimed ahead wait at most the claim lead for their instant, and their slots are
   * this process's (no other can serve them), so they start on it if it comes within `graceMs`.
   * `cut` ends the wait early (a second stop). Those still waiting then are recorded interrupted.
   */
  async stop(graceMs: number, cut: (end: () => void) => void): Promise<void> {
    if (graceMs > 0 && this.waiting.size > 0) {
      let timer: TimerHandle | undefined
      await new Promise<void>((resolve) => {
        cut(resolve)
        timer = this.clock.setTimeout(resolve, graceMs)
        this.idle.push(resolve)
      })
      if (timer) this.clock.clearTimeout(timer)
    }
    const requests: RunRequest[] = []
    for (const waiting of this.waiting) {
      this.clock.clearTimeout(waiting.timer)
      requests.push(...waiting.requests)
    }
    this.waiting.clear()
    this.settleIdle()
    const now = this.clock.now()
    await this.record(requests, () => ({
      status: 'interrupted',
      finishedAt: now,
      errorMessage: 'interrupted: the scheduler stopped before the slot came due',
      settled: true,
    }))
  }

  /** Record the outcome of claimed runs that were never started. */
  private async record(requests: readonly RunRequest[], outcome: (request: RunRequest) => RunOutcome): Promise<void> {
    const recorder = this.options.recorder()
    if (recorder === undefined) return
    await Promise.all(requests.map((request) => recorder.finish(request.runId, outcome(request))))
  }

  private settleIdle(): void {
    if (this.waiting.size > 0) return
    for (const resolve of this.idle.splice(0)) resolve()
  }

  private startAt(at: number, requests: RunRequest[]): void {
    const staged = this.runner().stage(requests)
    const waitUntil = this.options.precise ? this.clock.waitUntil : undefined
    const early = waitUntil ? PRECISE_START_MS : 0
    const fire = () => {
      if (waitUntil !== undefined && (waiting.precise || this.clock.now() >= this.plainUntil)) {
        waiting.precise = true
        waitUntil.call(this.clock, at, PRECISE_WAIT_MAX_MS)
      }
      // Never before the instant: a timer that fires early (or a wait cut short, or a wall clock
      // stepped back) waits again, looking at the clock at least every maxSleepMs meanwhile.
      const now = this.clock.now()
      if (at > now) {
        waiting.timer = this.clock.setTimeout(fire, Math.min(at - now, this.options.maxSleepMs))
        return
      }
      this.waiting.delete(waiting)
      if (waiting.precise) this.plainUntil = now + PRECISE_WAIT_SPACING_MS
      this.runner().startStaged(now > at ? this.withoutMisfired(staged, at, now) : staged)
      this.settleIdle()
    }
    // Armed after staging, from a fresh clock reading: staging a big batch takes a while.
    const waiting: Waiting = {
      at,
      requests,
      timer: this.clock.setTimeout(fire, at - this.clock.now() - early),
      precise: false,
    }
    this.waiting.add(waiting)
  }
}
