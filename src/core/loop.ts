// The claim loop: one timer over a heap of each job's next slot, one claim transaction per wake-up.
// docs/engine.md: "One slot, start to end", "Claim-ahead", "The store out of reach".
import type { ResolvedJob } from '../config/types.js'
import type { ClaimOutcome, SlotClaim, Store } from '../store/types.js'
import type { Clock, TimerHandle } from './clock.js'
import type { ClockSync } from './clock-sync.js'
import { describeError } from './describe.js'
import { collectDue, dueAt, firstSlotOf, sameSchedule } from './due.js'
import type { EngineEmitter } from './events.js'
import { MinHeap } from './heap.js'
import type { Outage } from './outage.js'
import type { Recorder } from './recorder.js'
import type { StartQueue } from './start-queue.js'

const OVERDUE_MS = 1000
/** After a failed claim (or a wake-up that threw); doubled after each failure in a row, up to MAX_RETRY_MS. */
const RETRY_MS = 1000
const MAX_RETRY_MS = 16_000
const MAX_CLAIM_LEAD_MS = 250

type Entry = { job: ResolvedJob; slot: number }

/** What the claim loop and housekeeping both use. */
export interface StoreDeps {
  clock: Clock
  events: EngineEmitter
  outage: Outage
  store: () => Promise<Store>
  recorder: () => Recorder | undefined
  instanceId: () => string
  /** Measured again, before a wake-up reads the clock, when a timer shows this host's clock stepped. */
  clockSync: ClockSync
}

export interface ClaimLoopDeps extends StoreDeps {
  starts: StartQueue
  /** The definition scheduled under a name now, if any. */
  current: (name: string) => ResolvedJob | undefined
  /** Attempts of a job executing here (the overlap guard for claims ahead). */
  activeCount: (job: string) => number
  maxSleepMs: number
  /** Undefined: adaptive. */
  claimLeadMs: number | undefined
  /** Self-fencing: undefined while the lease is fresh, else its renewal. */
  beforeClaim: (now: number) => Promise<unknown> | undefined
}

export class ClaimLoop {
  private readonly heap = new MinHeap<Entry>()
  private timer: TimerHandle | undefined
  private plannedAt: number | undefined
  private claimLeadMs: number
  private leadMeasured = false
  private ticking: Promise<void> | undefined
  private tickStartedAt = 0
  private stopped = false
  private failedClaims = 0

  constructor(private readonly deps: ClaimLoopDeps) {
    // A first claim is the slowest (cold connections, a whole cluster starting): the most lead until measured.
    this.claimLeadMs = deps.claimLeadMs ?? MAX_CLAIM_LEAD_MS
  }

  /**
   * Each job resumes after the last slot served under its name; one never served starts from
   * `firstSlotOf` and is recorded served from now, so an outage before its first slot is missed.
   */
  async serve(jobs: readonly ResolvedJob[], now: number): Promise<void> {
    const store = await this.deps.store()
    const served = new Set((await store.listJobs()).filter((j) => j.lastSlot !== null).map((j) => j.name))
    const names = jobs.map((job) => job.name)
    const states = await store.syncJobs(names, now, { serving: true })
    const lastSlots = new Map(states.map((state) => [state.name, state.lastSlot]))
    for (const job of jobs) {
      this.enqueue(job, served.has(job.name) ? (lastSlots.get(job.name) ?? null) : firstSlotOf(job))
    }
  }

  /** Queue a job's next slot after `lastSlot`, unless another definition (or none) took its name meanwhile. */
  enqueue(job: ResolvedJob, lastSlot: number | null): void {
    if (this.deps.current(job.name) !== job) return
    const slot = job.schedule.next(lastSlot ?? this.deps.clock.now())
    if (slot !== null) this.heap.push(dueAt(job, slot), { job, slot })
  }

  forget(name: string): void {
    this.heap.remove((entry) => entry.job.name === name)
  }

  /** A reload, in one pass: a job mapped to a definition keeps its slot (due by the new jitter); to null, loses it. */
  requeue(next: ReadonlyMap<string, ResolvedJob | null>): void {
    const now = this.deps.clock.now()
    this.heap.rebuild((key, entry) => {
      const job = next.get(entry.job.name)
      if (job === undefined) return { key, value: entry }
      if (job === null) return undefined
      return { key: keptDueAt(job, entry.slot, key, now), value: { job, slot: entry.slot } }
    })
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) this.deps.clock.clearTimeout(this.timer)
    this.timer = undefined
    await this.ticking
  }

  /** Whether the loop will wake again: a wake-up not stuck past twice `maxSleepMs`, a timer, or nothing to fire. */
  alive(now: number): boolean {
    if (this.stopped) return true
    if (this.ticking) return now - this.tickStartedAt <= 2 * this.deps.maxSleepMs
    return this.timer !== undefined || this.heap.size === 0
  }

  /** How long until a claim or start due within `quietMs` is over (0 if none): housekeeping keeps out of its way. */
  busyFor(now: number, quietMs: number): number {
    const nextClaim = (this.heap.peekKey() ?? Number.POSITIVE_INFINITY) - this.claimLeadMs
    const soonest = Math.min(nextClaim, this.deps.starts.soonest())
    return soonest - now > quietMs ? 0 : Math.max(0, soonest - now) + quietMs
  }

  /** The store answers again: try at once rather than at the end of the back-off. */
  wake(): void {
    if (this.failedClaims === 0) return
    this.failedClaims = 0
    this.arm()
  }

  arm(minDelayMs = 0): void {
    if (this.stopped || this.ticking) return
    const { clock } = this.deps
    if (this.timer) clock.clearTimeout(this.timer)
    this.timer = undefined
    const earliest = this.heap.peekKey()
    if (earliest === undefined) return
    const now = clock.now()
    const delay = Math.max(minDelayMs, Math.min(earliest - this.claimLeadMs - now, this.deps.maxSleepMs))
    this.plannedAt = now + delay
    this.timer = clock.setTimeout(() => void this.run(), delay)
  }

  /** Serve what is due, then re-arm; a wake-up that throws is reported and re-arms: the loop cannot die of one. */
  run(): Promise<void> {
    if (this.stopped || this.ticking) return this.ticking ?? Promise.resolve()
    if (this.timer) this.deps.clock.clearTimeout(this.timer)
    this.timer = undefined
    this.tickStartedAt = this.deps.clock.now()
    this.ticking = this.serveDueSlots()
      .catch((error: unknown) => {
        this.deps.events.emit('engine:error', { message: 'a wake-up of the scheduler failed', error })
        return RETRY_MS
      })
      .then((retryInMs) => {
        this.ticking = undefined
        this.arm(retryInMs)
      })
    return this.ticking
  }

  /** Returns the least delay before the next wake-up (after a store failure, or until a deferred slot). */
  private async serveDueSlots(): Promise<number> {
    const { clock, events, clockSync } = this.deps
    if (clockSync.noteTimer(this.plannedAt)) {
      try {
        await clockSync.measure(await this.deps.store())
      } catch (error) {
        return this.claimFailed('could not measure the clock against the store', error)
      }
    }
    const now = clock.now()
    if (this.plannedAt !== undefined && now - this.plannedAt > OVERDUE_MS) {
      events.emit('timer:overdue', { plannedAt: this.plannedAt, wokeAt: now, lateMs: now - this.plannedAt })
    }
    // A job still running here with overlap 'skip' is not claimed ahead, so it is not skipped early.
    const horizon = now + this.claimLeadMs
    const claims: SlotClaim[] = []
    const claimed: ResolvedJob[] = []
    const popped: { key: number; entry: Entry }[] = []
    const deferred: { key: number; entry: Entry }[] = []
    for (let key = this.heap.peekKey(); key !== undefined && key <= horizon; key = this.heap.peekKey()) {
      const entry = this.heap.pop() as Entry
      if (key > now && entry.job.overlap === 'skip' && this.deps.activeCount(entry.job.name) > 0) {
        deferred.push({ key, entry })
        continue
      }
      popped.push({ key, entry })
      const next = collectDue(entry.job, entry.slot, now, horizon, claims, claimed, key)
      if (next === null) continue
      const nextKey = dueAt(entry.job, next)
      // A slot left for later within the horizon (see collectDue) is looked at again on its instant.
      if (nextKey <= horizon) deferred.push({ key: nextKey, entry: { job: entry.job, slot: next } })
      else this.heap.push(nextKey, { job: entry.job, slot: next })
    }
    for (const { key, entry } of deferred) this.heap.push(key, entry)
    const waitForDeferred = deferred.length > 0 ? Math.min(...deferred.map((d) => d.key)) - now : 0
    if (claims.length === 0) return waitForDeferred
    let outcomes: ClaimOutcome[]
    try {
      await this.deps.beforeClaim(now)
      // Outcomes a failed write left behind go first: a claim must not find their jobs still running.
      await this.deps.recorder()?.retry()
      const store = await this.deps.store()
      outcomes = await store.claimSlots(claims, this.deps.instanceId(), now)
    } catch (error) {
      // Each popped slot goes back in place of the job's next one, under the job's definition now if a
      // reload or add() kept its schedule meanwhile; a job removed or rescheduled was queued afresh, or not.
      const back = popped.flatMap(({ key, entry }) => {
        const job = this.deps.current(entry.job.name)
        if (job === undefined || (job !== entry.job && !sameSchedule(job, entry.job))) return []
        return [{ key: keptDueAt(job, entry.slot, key, clock.now()), entry: { job, slot: entry.slot } }]
      })
      const names = new Set(back.map((b) => b.entry.job.name))
      this.heap.remove((e) => names.has(e.job.name))
      for (const { key, entry } of back) this.heap.push(key, entry)
      return this.claimFailed(`could not claim ${claims.length} slot(s)`, error)
    }
    this.failedClaims = 0
    this.deps.outage.answered()
    const claimMs = clock.now() - now
    try {
      this.adaptLead(claimMs + this.deps.starts.dispatch(claims, claimed, outcomes))
    } catch (error) {
      // The slots are claimed: the runs not started are recorded interrupted so none holds its job for good.
      events.emit('engine:error', { message: `could not start the runs of ${claims.length} claimed slot(s)`, error })
      const errorMessage = `interrupted: the run could not be started (${describeError(error).message})`
      const finishedAt = clock.now()
      const recorder = this.deps.recorder()
      for (const outcome of outcomes) {
        if (outcome.kind !== 'started') continue
        await recorder?.finish(outcome.runId, { status: 'interrupted', finishedAt, errorMessage, codeDone: true })
      }
    }
    return waitForDeferred
  }

  private claimFailed(message: string, error: unknown): number {
    this.deps.outage.failed(message, error)
    this.failedClaims++
    return Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** (this.failedClaims - 1))
  }

  private adaptLead(preparedMs: number): void {
    if (this.deps.claimLeadMs !== undefined) return
    const wanted = Math.ceil(preparedMs * 2) + 2
    const floor = this.leadMeasured ? Math.floor(this.claimLeadMs * 0.98) : 0
    this.leadMeasured = true
    this.claimLeadMs = Math.min(MAX_CLAIM_LEAD_MS, Math.max(wanted, floor))
  }
}

/**
 * When a slot already queued is due under `job` (a reload's definition): by its jitter, except that a slot
 * not yet due when the reload came is never late because of it (a smaller jitter would put it in the past).
 */
function keptDueAt(job: ResolvedJob, slot: number, queuedAt: number, now: number): number {
  return Math.max(dueAt(job, slot), Math.min(queuedAt, now))
}
