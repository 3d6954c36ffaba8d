/**
 * The claim loop. One timer for the earliest due slot of all jobs (a heap keyed by due time), never
 * a timer or a poll per job; the sleep is capped so suspend and clock jumps are noticed. All slots
 * due at one wake-up are claimed in ONE store transaction, which is also what makes every slot fire
 * exactly once across processes sharing the store. Slots due within the claim lead are claimed
 * ahead and started on their instant by `Starts` (docs/engine.md, "Claim-ahead").
 *
 * The loop cannot die of an error: a wake-up that throws is reported and the loop re-arms. Whether
 * it is alive is what the heartbeat proves (`alive()`). A store out of reach is retried with a
 * growing delay (1 s, 2 s, 4 s… at most 16 s) and reported once (outage.ts); its slots go back on the
 * heap as they were, so when the store answers those past their misfire grace are recorded missed.
 */
import type { ResolvedJob } from '../config/types.js'
import type { ClaimOutcome, SlotClaim, Store } from '../store/types.js'
import type { Clock, TimerHandle } from './clock.js'
import { describeError } from './describe.js'
import { collectDue, dueAt, firstSlotOf } from './due.js'
import type { EngineEmitter } from './events.js'
import { MinHeap } from './heap.js'
import type { Outage } from './outage.js'
import type { Recorder } from './recorder.js'
import type { Starts } from './starts.js'

/** A wake-up later than this past its plan is reported as overdue. */
const OVERDUE_MS = 1000
/** After a failed claim (or a wake-up that threw), wait this long before trying again... */
const RETRY_MS = 1000
/** ... doubled after each failure in a row, up to this. */
const MAX_RETRY_MS = 16_000
/** The adaptive claim lead never exceeds this. */
const MAX_CLAIM_LEAD_MS = 250

interface Entry {
  job: ResolvedJob
  slot: number
}

export interface ClaimLoopDeps {
  clock: Clock
  events: EngineEmitter
  starts: Starts
  store: () => Promise<Store>
  recorder: () => Recorder | undefined
  instanceId: () => string
  /** Whether the job is still the one of its name (not replaced or removed meanwhile). */
  isCurrent: (job: ResolvedJob) => boolean
  /** Attempts of a job still executing in this process (the overlap guard for claims ahead). */
  activeCount: (job: string) => number
  maxSleepMs: number
  /** A fixed claim lead, or undefined for the adaptive one. */
  claimLeadMs: number | undefined
  /** Reports a store out of reach once per outage, and anything else as it happens. */
  outage: Outage
  /**
   * The timer planned for `plannedAt` fired: whether the clock must be measured again before it is
   * read (`resyncClock`), because the host's clock stepped.
   */
  clockStepped?: (plannedAt: number | undefined) => boolean
  resyncClock?: () => Promise<void>
  /** Before claiming: undefined when this instance's lease is fresh, else its renewal (self-fencing). */
  beforeClaim?: (now: number) => Promise<void> | undefined
}

export class ClaimLoop {
  private readonly heap = new MinHeap<Entry>()
  private timer: TimerHandle | undefined
  private plannedAt: number | undefined
  private claimLeadMs: number
  /** Whether a claim batch has been measured yet (the adaptive lead starts at its most until then). */
  private leadMeasured = false
  private ticking: Promise<void> | undefined
  private tickStartedAt = 0
  private stopped = false
  /** Claims that failed in a row (the store out of reach): the next try waits longer. */
  private failedClaims = 0

  constructor(private readonly deps: ClaimLoopDeps) {
    // Before any claim is measured, the first slot after a start is claimed as early as any: a first
    // claim is the slowest (cold connections, every process of a cluster starting together).
    this.claimLeadMs = deps.claimLeadMs ?? MAX_CLAIM_LEAD_MS
  }

  /**
   * Take charge of `jobs` at `now` (a start, or a job added to a running scheduler): each resumes
   * after the last slot served under its name, so slots of a downtime follow the misfire rules; a job
   * never served starts from `firstSlotOf`, and is recorded as served from now, so an outage before
   * its first slot is missed rather than unknown.
   */
  async serve(jobs: readonly ResolvedJob[], now: number): Promise<void> {
    const store = await this.deps.store()
    const served = new Set((await store.listJobs()).filter((j) => j.lastSlot !== null).map((j) => j.name))
    const states = await store.syncJobs(
      jobs.map((job) => job.name),
      now,
      { serving: true },
    )
    const lastSlots = new Map(states.map((state) => [state.name, state.lastSlot]))
    for (const job of jobs) {
      this.enqueue(job, served.has(job.name) ? (lastSlots.get(job.name) ?? null) : firstSlotOf(job))
    }
  }

  /** Queue the job's first slot after the last one served (or after now for a new job). */
  enqueue(job: ResolvedJob, lastSlot: number | null): void {
    const slot = job.schedule.next(lastSlot ?? this.deps.clock.now())
    if (slot !== null) this.heap.push(dueAt(job, slot), { job, slot })
  }

  /** Forget a job's queued slot (it was replaced or removed). */
  forget(name: string): void {
    this.heap.remove((entry) => entry.job.name === name)
  }

  /**
   * Point queued slots at new definitions of their jobs, in one pass (a config reload): a job mapped
   * to a definition keeps its queued slot, due by the new definition's jitter; one mapped to null
   * loses it. Jobs not in `next` are left as they are.
   */
  requeue(next: ReadonlyMap<string, ResolvedJob | null>): void {
    this.heap.rebuild((key, entry) => {
      const job = next.get(entry.job.name)
      if (job === undefined) return { key, value: entry }
      if (job === null) return undefined
      return { key: dueAt(job, entry.slot), value: { job, slot: entry.slot } }
    })
  }

  /** Serve what is due now, then keep going. */
  run(): Promise<void> {
    return this.tick()
  }

  /** Stop waking up; resolves once a wake-up in progress is over (its runs are started). */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) this.deps.clock.clearTimeout(this.timer)
    this.timer = undefined
    await this.ticking
  }

  /**
   * Whether the loop will wake up again: a wake-up is in progress (and not stuck for longer than
   * twice the longest sleep), or a timer is armed, or there is nothing left to fire.
   */
  alive(now: number): boolean {
    if (this.stopped) return true
    if (this.ticking) return now - this.tickStartedAt <= 2 * this.deps.maxSleepMs
    return this.timer !== undefined || this.heap.size === 0
  }

  /**
   * How long until a claim or a start due within `quietMs` is over (0 when nothing is), so that
   * housekeeping writes keep out of its way.
   */
  busyFor(now: number, quietMs: number): number {
    let soonest = Number.POSITIVE_INFINITY
    const next = this.heap.peekKey()
    if (next !== undefined) soonest = next - this.claimLeadMs
    soonest = Math.min(soonest, this.deps.starts.soonest())
    if (soonest - now > quietMs) return 0
    return Math.max(0, soonest - now) + quietMs
  }

  /** The store answers again: try what is due at once rather than at the end of the back-off. */
  wake(): void {
    if (this.failedClaims === 0) return
    this.failedClaims = 0
    this.arm()
  }

  /** Sleep until the earliest due slot (less the claim lead), at most `maxSleepMs`. */
  arm(minDelayMs = 0): void {
    if (this.stopped || this.ticking) return
    const { clock } = this.deps
    if (this.timer) clock.clearTimeout(this.timer)
    const earliest = this.heap.peekKey()
    if (earliest === undefined) {
      this.timer = undefined
      return
    }
    const now = clock.now()
    const delay = Math.max(minDelayMs, Math.min(earliest - this.claimLeadMs - now, this.deps.maxSleepMs))
    this.plannedAt = now + delay
    this.timer = clock.setTimeout(() => void this.tick(), delay)
  }

  /** Serve every slot due by now, then sleep until the next. A wake-up that throws re-arms. */
  private tick(): Promise<void> {
    if (this.stopped || this.ticking) return this.ticking ?? Promise.resolve()
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

  /**
   * Returns a minimum delay before the next wake-up: non-zero after a store failure, or until a
   * slot that could not be claimed ahead comes due.
   */
  private async serveDueSlots(): Promise<number> {
    const { clock, events } = this.deps
    // A host clock that stepped is measured against the store's before anything is taken for due.
    if (this.deps.clockStepped?.(this.plannedAt) && this.deps.resyncClock) {
      try {
        await this.deps.resyncClock()
      } catch (error) {
        return this.claimFailed('could not measure the clock against the store', error)
      }
    }
    const now = clock.now()
    if (this.plannedAt !== undefined && now - this.plannedAt > OVERDUE_MS) {
      events.emit('timer:overdue', { plannedAt: this.plannedAt, wokeAt: now, lateMs: now - this.plannedAt })
    }
    // Slots due within the lead are claimed now and started on their instant. A job still running
    // here with overlap 'skip' waits for its instant instead, so it is not skipped early.
    const horizon = now + this.claimLeadMs
    const claims: SlotClaim[] = []
    const claimed: ResolvedJob[] = []
    const popped: Entry[] = []
    const deferred: { key: number; entry: Entry }[] = []
    for (let key = this.heap.peekKey(); key !== undefined && key <= horizon; key = this.heap.peekKey()) {
      const entry = this.heap.pop() as Entry
      if (key > now && entry.job.overlap === 'skip' && this.deps.activeCount(entry.job.name) > 0) {
        deferred.push({ key, entry })
        continue
      }
      popped.push(entry)
      const next = collectDue(entry.job, entry.slot, now, horizon, claims, claimed)
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
      // Self-fencing: no claim under a lease a peer may have found expired.
      await this.deps.beforeClaim?.(now)
      // Outcomes a failed write left behind go first: a claim must not find their jobs still running.
      await this.deps.recorder()?.retry()
      const store = await this.deps.store()
      outcomes = await store.claimSlots(claims, this.deps.instanceId(), now)
    } catch (error) {
      // The store failed (out of reach, locked past its busy timeout, disk full): put the slots back,
      // retry soon. Each popped entry goes back as it was, unless its job was replaced meanwhile (add()).
      const jobs = new Set(popped.map((p) => p.job))
      this.heap.remove((e) => jobs.has(e.job))
      for (const entry of popped) {
        if (this.deps.isCurrent(entry.job)) this.heap.push(dueAt(entry.job, entry.slot), entry)
      }
      return this.claimFailed(`could not claim ${claims.length} slot(s)`, error)
    }
    this.failedClaims = 0
    this.deps.outage.answered()
    const claimMs = clock.now() - now
    try {
      this.adaptLead(claimMs + this.deps.starts.dispatch(claims, claimed, outcomes))
    } catch (error) {
      // Not a store failure: the slots are claimed (putting them back would only find them taken).
      // The runs not started are recorded interrupted so that none holds its job for good.
      events.emit('engine:error', { message: `could not start the runs of ${claims.length} claimed slot(s)`, error })
      const message = `interrupted: the run could not be started (${describeError(error).message})`
      const finishedAt = clock.now()
      const recorder = this.deps.recorder()
      for (const outcome of outcomes) {
        if (outcome.kind !== 'started') continue
        await recorder?.finish(outcome.runId, {
          status: 'interrupted',
          finishedAt,
          errorMessage: message,
          settled: true,
        })
      }
    }
    return waitForDeferred
  }

  /** Report a failed claim (once per outage when the store is out of reach); the delay before the next try. */
  private claimFailed(message: string, error: unknown): number {
    this.deps.outage.failed(message, error)
    this.failedClaims++
    return Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** (this.failedClaims - 1))
  }

  /**
   * Claim the next batch early by twice what this one took (the claim and the staging of its runs),
   * plus a little, decaying slowly (2% a batch) after a slow one. The first measured batch replaces
   * the starting guess outright.
   */
  private adaptLead(preparedMs: number): void {
    if (this.deps.claimLeadMs !== undefined) return
    const wanted = Math.ceil(preparedMs * 2) + 2
    const floor = this.leadMeasured ? Math.floor(this.claimLeadMs * 0.98) : 0
    this.leadMeasured = true
    this.claimLeadMs = Math.min(MAX_CLAIM_LEAD_MS, Math.max(wanted, floor))
  }
}
