// A claim batch's outcomes: runs due now start at once, runs claimed ahead are staged and started on
// their instant, skipped and missed slots are reported. docs/engine.md: "Claim-ahead", "Precise starts".
import type { ResolvedJob } from '../config/types.js'
import type { ClaimOutcome, RunOutcome, SlotClaim } from '../store/types.js'
import type { Clock, TimerHandle } from './clock.js'
import { dueAt, missedSlot } from './due.js'
import type { EngineEmitter, EngineEvents } from './events.js'
import type { Recorder } from './recorder.js'
import type { Runner, RunRequest, StagedRuns } from './runner.js'

/** With precise starts, woken this early and the rest waited out with `waitUntil` (why 8: bench/FINDINGS.md). */
const PRECISE_START_MS = 8
/** A wait gives up after this long (the lead, plus as much for an early timer): it bounds the blocking. */
const PRECISE_WAIT_MAX_MS = PRECISE_START_MS * 2
/** After a precise wait, batches due within this long get plain timers: blocking stays under a tenth of the time. */
const PRECISE_WAIT_SPACING_MS = PRECISE_START_MS * 10

export type StartQueueOptions = { maxSleepMs: number; recorder: () => Recorder | undefined; precise: boolean }

/** `precise`, once granted, holds also after a wait cut short. */
type Waiting = { at: number; timer: TimerHandle; requests: RunRequest[]; precise: boolean }

export class StartQueue {
  private readonly waiting = new Set<Waiting>()
  private idle: (() => void)[] = []
  /** No batch starts a precise wait before this instant (see PRECISE_WAIT_SPACING_MS). */
  private plainUntil = Number.NEGATIVE_INFINITY

  constructor(
    private readonly clock: Clock,
    private readonly events: EngineEmitter,
    private readonly runner: () => Runner,
    private readonly options: StartQueueOptions,
  ) {}

  soonest(): number {
    return Math.min(...[...this.waiting].map((waiting) => waiting.at))
  }

  /** Act on a batch's outcomes (one per claim); returns how long staging the runs ahead took, for the claim lead. */
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
          const { slot, trigger } = claim
          const request: RunRequest = { job, runId: outcome.runId, slot, trigger, initiator: 'scheduler' }
          if (claim.missed) {
            request.missed = claim.missed
            caughtUp.push({ job: job.name, runId: outcome.runId, missed: claim.missed, catchUp: true })
          }
          // collectDue says when each run starts; computed again only for a claim made without it.
          const at = claim.startAt ?? dueAt(job, slot)
          if (at <= now) startNow.push(request)
          else {
            const batch = later.get(at)
            if (batch) batch.push(request)
            else later.set(at, [request])
          }
          break
        }
        case 'skipped':
        case 'paused': {
          const reason = outcome.kind === 'paused' ? 'paused' : outcome.reason
          this.events.emit('slot:skipped', { job: job.name, slot: claim.slot, runId: outcome.runId, reason })
          break
        }
        case 'missed':
          if (claim.missed) {
            const event = { job: job.name, runId: outcome.runId, missed: claim.missed, catchUp: false }
            this.events.emit('slot:missed', event)
          }
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

  /** A start woken past a job's misfire grace is recorded missed, not run late (unless the job has catchUp). */
  private withoutMisfired(staged: StagedRuns, at: number, now: number): StagedRuns {
    const late = now - at
    const misfired = (request: RunRequest) => late > request.job.misfireGraceMs && !request.job.catchUp
    if (!staged.requests.some(misfired)) return staged
    const requests: RunRequest[] = []
    const attempts: StagedRuns['attempts'][number][] = []
    const missed: RunRequest[] = []
    staged.requests.forEach((request, i) => {
      if (misfired(request)) {
        missed.push(request)
        const event = { job: request.job.name, runId: request.runId, missed: missedSlot(request.slot), catchUp: false }
        this.events.emit('slot:missed', event)
      } else {
        requests.push(request)
        attempts.push(staged.attempts[i])
      }
    })
    void this.record(missed, (request) => ({
      status: 'missed',
      finishedAt: now,
      detail: JSON.stringify(missedSlot(request.slot)),
      codeDone: true,
    }))
    return { requests, attempts }
  }

  /** Runs claimed ahead (no other process can serve their slots) start if their instant comes within `graceMs`. */
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
    this.wakeIdleWaiters()
    const now = this.clock.now()
    const errorMessage = 'interrupted: the scheduler stopped before the slot came due'
    await this.record(requests, () => ({ status: 'interrupted', finishedAt: now, errorMessage, codeDone: true }))
  }

  private async record(requests: readonly RunRequest[], outcome: (request: RunRequest) => RunOutcome): Promise<void> {
    const recorder = this.options.recorder()
    if (recorder === undefined) return
    await Promise.all(requests.map((request) => recorder.finish(request.runId, outcome(request))))
  }

  private wakeIdleWaiters(): void {
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
      // Never before the instant: an early timer (a wait cut short, a clock stepped back) waits again.
      const now = this.clock.now()
      if (at > now) {
        waiting.timer = this.clock.setTimeout(fire, Math.min(at - now, this.options.maxSleepMs))
        return
      }
      this.waiting.delete(waiting)
      if (waiting.precise) this.plainUntil = now + PRECISE_WAIT_SPACING_MS
      this.runner().startStaged(now > at ? this.withoutMisfired(staged, at, now) : staged)
      this.wakeIdleWaiters()
    }
    // Armed after staging, from a fresh clock reading: staging a big batch takes a while.
    const timer = this.clock.setTimeout(fire, at - this.clock.now() - early)
    const waiting: Waiting = { at, requests, timer, precise: false }
    this.waiting.add(waiting)
  }
}
