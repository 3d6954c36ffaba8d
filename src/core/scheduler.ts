/**
 * The scheduler loop. One timer for the earliest due slot of all jobs (a heap keyed by due time),
 * never a timer or a poll per job; the sleep is capped so suspend and clock jumps are noticed. All
 * slots due at one wake-up are claimed in ONE store transaction, which is also what makes every
 * slot fire exactly once across processes sharing the store.
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Initiator, JobDefinition, ResolvedConfig, ResolvedJob } from '../config/types.js'
import { CronsError, quote, unknownJob } from '../errors.js'
import type { ClaimOutcome, InstanceRole, ReapedRuns, RunOutcome, SlotClaim, Store } from '../store/types.js'
import { describeError } from './attempt.js'
import { type Clock, systemClock, type TimerHandle } from './clock.js'
import { collectDue, dueAt } from './due.js'
import { EngineEmitter } from './events.js'
import { MinHeap } from './heap.js'
import { Runner, type RunRequest, type RunResult } from './runner.js'
import { Starts } from './starts.js'

export interface SchedulerOptions {
  clock?: Clock
  /** A store to use instead of opening `config.statePath` (the caller then owns closing it). */
  store?: Store
  instanceId?: string
  /** Who starts manual runs through `runJob` (the CLI says 'cli'). @default 'library' */
  initiator?: Initiator
  /** @default 30_000 */
  maxSleepMs?: number
  /** @default 10_000 */
  heartbeatMs?: number
  /** An instance whose heartbeat is older than this is dead. @default 30_000 */
  instanceTtlMs?: number
  random?: () => number
  /**
   * Claim slots this long before they are due and start them on the instant, so the claim
   * transaction is off the critical path. @default adaptive: twice what the last claim and the building
   * of its runs took, plus 2 ms, decaying 2% a batch, at most 250 ms
   */
  claimLeadMs?: number
}

export interface RunJobOptions {
  /** Run even when the job is running somewhere. */
  force?: boolean
  /** Overrides the job's timeout, in milliseconds. */
  timeoutMs?: number
}

/** A wake-up later than this past its plan is reported as overdue. */
const OVERDUE_MS = 1000
const PRUNE_EVERY_MS = 3_600_000
/** After a failed claim, wait this long before trying the store again. */
const STORE_RETRY_MS = 1000
/** The adaptive claim lead never exceeds this. */
const MAX_CLAIM_LEAD_MS = 250
/** Housekeeping (heartbeat, reaping, pruning) does not start this close to a claim or a start. */
const QUIET_MS = 50
/** ... but waits for a quiet moment at most this long. */
const MAX_HOUSEKEEPING_DELAY_MS = 2000

interface Entry {
  job: ResolvedJob
  slot: number
}

export class Scheduler {
  readonly events = new EngineEmitter()
  readonly instanceId: string
  private readonly clock: Clock
  private readonly jobs = new Map<string, ResolvedJob>()
  private readonly heap = new MinHeap<Entry>()
  private readonly options: Required<Omit<SchedulerOptions, 'store' | 'clock' | 'instanceId' | 'claimLeadMs'>>
  private readonly fixedLeadMs: number | undefined
  private claimLeadMs = 0
  /** Runs claimed ahead of their slot, waiting for the instant. */
  private readonly starts: Starts
  private store: Store | undefined
  private readonly ownsStore: boolean
  private opening: Promise<Store> | undefined
  private runner: Runner | undefined
  private timer: TimerHandle | undefined
  private plannedAt: number | undefined
  private heartbeatTimer: TimerHandle | undefined
  private lastPrune = 0
  private started = false
  /** What this process registers as; see `open()`. */
  private role: InstanceRole = 'runner'
  private registeredAs: InstanceRole | undefined
  private stopping: Promise<void> | undefined
  /** Ends the wait of a stop for runs claimed ahead (a second stop()). */
  private cutShort: (() => void) | undefined
  /** A second stop() came: no step of the stop waits any more. */
  private hurried = false
  private ticking: Promise<void> | undefined

  constructor(
    readonly config: ResolvedConfig,
    options: SchedulerOptions = {},
  ) {
    this.clock = options.clock ?? systemClock
    this.store = options.store
    this.ownsStore = options.store === undefined
    this.instanceId = options.instanceId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
    this.options = {
      initiator: options.initiator ?? 'library',
      maxSleepMs: options.maxSleepMs ?? 30_000,
      heartbeatMs: options.heartbeatMs ?? 10_000,
      instanceTtlMs: options.instanceTtlMs ?? 30_000,
      random: options.random ?? Math.random,
    }
    this.fixedLeadMs = options.claimLeadMs
    this.claimLeadMs = options.claimLeadMs ?? 0
    this.starts = new Starts(this.clock, this.events, () => this.getRunner(), {
      maxSleepMs: this.options.maxSleepMs,
      recordUnstarted: (requests, outcome, what) => this.recordUnstarted(requests, outcome, what),
    })
    // A job with `enabled: false` stays in the config but is not this scheduler's to run.
    for (const job of config.jobs) if (job.enabled !== false) this.jobs.set(job.name, job)
  }

  /** The jobs this scheduler runs. */
  list(): ResolvedJob[] {
    return [...this.jobs.values()]
  }

  /** Add (or replace) a job; a running scheduler picks it up at once. */
  async add(job: JobDefinition | ResolvedJob): Promise<ResolvedJob> {
    this.assertNotStopped('add a job')
    if (typeof job !== 'object' || job === null) {
      throw new CronsError(
        'CONFIG_INVALID',
        `add() takes a job definition object, got ${job === null ? 'null' : typeof job}`,
      )
    }
    const resolved = isResolved(job) ? job : await this.resolve(job)
    this.jobs.set(resolved.name, resolved)
    if (this.started) {
      this.heap.remove((entry) => entry.job.name === resolved.name)
      const store = await this.open()
      const now = this.clock.now()
      const states = await store.syncJobs([resolved.name], now, { serving: true })
      const [state] = states.filter((j) => j.name === resolved.name)
      this.enqueue(resolved, state?.lastSlot ?? null)
      this.arm()
    }
    return resolved
  }

  /** Open the store, recover from dead peers, and start firing slots. */
  async start(): Promise<void> {
    this.assertNotStopped('start')
    if (this.started) return
    this.role = 'scheduler'
    const store = await this.open()
    // Opened earlier for a manual run: registered as a runner then.
    if (this.registeredAs !== 'scheduler') await this.register(store)
    const now = this.clock.now()
    await this.reap(now)
    // Jobs never served are this scheduler's from now: an outage before their first slot is missed.
    const states = await store.syncJobs([...this.jobs.keys()], now, { serving: true })
    const lastSlots = new Map(states.map((s) => [s.name, s.lastSlot]))
    for (const job of this.jobs.values()) this.enqueue(job, lastSlots.get(job.name) ?? null)
    this.started = true
    this.events.emit('started', { instanceId: this.instanceId })
    this.scheduleHeartbeat()
    await this.prune(now)
    await this.tick()
  }

  /** The next slot due per job (for start-up summaries). */
  nextFires(): Map<string, number | null> {
    const now = this.clock.now()
    return new Map([...this.jobs.values()].map((job) => [job.name, job.schedule.next(now)]))
  }

  /**
   * Run a job now through the same pipeline as a scheduled run (timeout, retry, hooks, history row
   * with trigger `manual`). Refuses while the job runs anywhere unless `force`.
   */
  async runJob(name: string, options: RunJobOptions = {}): Promise<RunResult> {
    this.assertNotStopped('run a job')
    const job = this.jobs.get(name)
    if (!job) throw unknownJob(name, [...this.jobs.keys()])
    const store = await this.open()
    const now = this.clock.now()
    await this.reap(now)
    await store.syncJobs([name], now)
    if (!this.heartbeatTimer) this.scheduleHeartbeat()
    const begun = await store.beginRun(
      { job: name, slot: now, trigger: 'manual', attempt: 1, overlap: options.force ? 'allow' : 'skip' },
      this.instanceId,
      now,
    )
    if (begun.kind === 'busy') {
      const h = begun.holder
      const where = h.host ? ` (host ${h.host}, pid ${h.pid})` : ''
      throw new CronsError(
        'JOB_RUNNING',
        `job ${quote(name)} is already running: run ${h.runId} on instance ${h.instanceId}${where} since ${new Date(h.startedAt).toISOString()}`,
        { suggestions: ['pass { force: true } to run it anyway'] },
      )
    }
    return this.getRunner().execute({
      job,
      runId: begun.runId,
      slot: now,
      trigger: 'manual',
      initiator: this.options.initiator,
      // A forced run's retries are forced too.
      ...(options.force ? { overlap: 'allow' as const } : {}),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    })
  }

  /** A stopped scheduler has closed its store and released its timers: it cannot be started again. */
  private assertNotStopped(what: string): void {
    if (this.stopping === undefined) return
    throw new CronsError('SCHEDULER_STOPPED', `cannot ${what}: this scheduler was stopped`, {
      suggestions: ['create a new one to start again'],
    })
  }

  /**
   * Stop claiming slots, give running jobs `graceMs` to finish, then abort and record them
   * interrupted; mark this instance stopped and close the store. A second call cuts the grace short.
   */
  stop(options: { graceMs?: number } = {}): Promise<void> {
    if (this.stopping) {
      // Whichever step the first call has reached (or not yet reached) takes no more grace.
      this.hurried = true
      this.cutShort?.()
      this.runner?.interruptNow()
      return this.stopping
    }
    this.stopping = (async () => {
      if (this.timer) this.clock.clearTimeout(this.timer)
      if (this.heartbeatTimer) this.clock.clearTimeout(this.heartbeatTimer)
      this.timer = undefined
      this.heartbeatTimer = undefined
      // A wake-up already claiming slots finishes first, so the runs it starts are drained too.
      await this.ticking
      const graceMs = options.graceMs ?? this.config.shutdownGraceMs
      const began = this.clock.now()
      const graceLeft = () => (this.hurried ? 0 : Math.max(0, graceMs - (this.clock.now() - began)))
      await this.startPendingWithin(graceLeft())
      await this.cancelPendingStarts()
      const who = this.role === 'scheduler' ? 'the scheduler shut down' : 'stopped'
      await this.runner?.drain(graceLeft(), `${who} before the job finished`)
      if (this.store) {
        await this.store.stopInstance(this.instanceId, this.clock.now())
        if (this.ownsStore) await this.store.close()
      }
      this.events.emit('stopped', { instanceId: this.instanceId })
    })()
    return this.stopping
  }

  /**
   * The store, opened on first use, with this process registered as an instance: a `runner` until
   * `start()` makes it a `scheduler` (status counts only schedulers as serving slots).
   */
  async open(): Promise<Store> {
    this.opening ??= (async () => {
      if (!this.store) {
        const { openStore } = await import('../store/index.js')
        this.store = await openStore(this.config.statePath)
      }
      await this.register(this.store)
      return this.store
    })()
    return this.opening
  }

  private async register(store: Store): Promise<void> {
    const role = this.role
    await store.registerInstance({
      id: this.instanceId,
      role,
      host: hostname(),
      pid: process.pid,
      now: this.clock.now(),
    })
    this.registeredAs = role
  }

  private getRunner(): Runner {
    this.runner ??= new Runner({
      store: this.store as Store,
      clock: this.clock,
      events: this.events,
      instanceId: this.instanceId,
      hooks: this.config.hooks,
      random: this.options.random,
    })
    return this.runner
  }

  private async resolve(job: JobDefinition): Promise<ResolvedJob> {
    const { validateConfig } = await import('../config/validate.js')
    const config = validateConfig(
      { timezone: this.config.timezone, jobs: [job] },
      { file: 'scheduler.add()', configDir: process.cwd() },
    )
    return config.jobs[0] as ResolvedJob
  }

  /** Queue the job's first slot after the last one served (or after now for a new job). */
  private enqueue(job: ResolvedJob, lastSlot: number | null): void {
    const slot = job.schedule.next(lastSlot ?? this.clock.now())
    if (slot !== null) this.heap.push(dueAt(job, slot), { job, slot })
  }

  private arm(minDelayMs = 0): void {
    if (this.stopping || this.ticking) return
    if (this.timer) this.clock.clearTimeout(this.timer)
    const earliest = this.heap.peekKey()
    if (earliest === undefined) {
      this.timer = undefined
      return
    }
    const now = this.clock.now()
    const delay = Math.max(minDelayMs, Math.min(earliest - this.claimLeadMs - now, this.options.maxSleepMs))
    this.plannedAt = now + delay
    this.timer = this.clock.setTimeout(() => void this.tick(), delay)
  }

  /** Serve every slot due by now, in one claim transaction, then sleep until the next. */
  private tick(): Promise<void> {
    if (this.stopping || this.ticking) return this.ticking ?? Promise.resolve()
    this.timer = undefined
    this.ticking = this.serveDueSlots().then((retryInMs) => {
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
    const now = this.clock.now()
    if (this.plannedAt !== undefined && now - this.plannedAt > OVERDUE_MS) {
      this.events.emit('timer:overdue', { plannedAt: this.plannedAt, wokeAt: now, lateMs: now - this.plannedAt })
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
      if (key > now && entry.job.overlap === 'skip' && this.runner && this.runner.activeCount(entry.job.name) > 0) {
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
      const store = await this.open()
      // Each claim carries when its run starts (startAt): now, or its instant for a claim ahead.
      outcomes = await store.claimSlots(claims, this.instanceId, now)
    } catch (error) {
      // The store failed (locked past its busy timeout, disk full): put the slots back, retry soon.
      this.events.emit('engine:error', { message: `could not claim ${claims.length} slot(s)`, error })
      this.heap.remove((e) => popped.some((p) => p.job.name === e.job.name))
      for (const entry of popped) this.heap.push(dueAt(entry.job, entry.slot), entry)
      return STORE_RETRY_MS
    }
    const claimMs = this.clock.now() - now
    try {
      this.adaptLead(claimMs + this.starts.dispatch(claims, claimed, outcomes))
    } catch (error) {
      // Not a store failure: the slots are claimed (putting them back would only find them taken).
      // The runner contains what jobs do, so this is a bug; the scheduler keeps going, and the runs
      // are recorded interrupted so that none holds its job as running for good (one that did start
      // records its own outcome after this).
      this.events.emit('engine:error', {
        message: `could not start the runs of ${claims.length} claimed slot(s)`,
        error,
      })
      const message = `interrupted: the run could not be started (${describeError(error).message})`
      const finishedAt = this.clock.now()
      const runIds = outcomes.flatMap((o) => (o.kind === 'started' ? [o.runId] : []))
      await Promise.allSettled(
        runIds.map((id) =>
          this.store?.finishRun(id, { status: 'interrupted', finishedAt, errorMessage: message, settled: true }),
        ),
      )
    }
    return waitForDeferred
  }

  /**
   * Claim the next batch early by twice what this one took (the claim and the staging of its runs,
   * measured on the scheduler's clock) plus a little, decaying slowly (2% a batch) after a slow one,
   * so a run of quick claims does not make the next slow one (a checkpoint, a busy disk, code not yet
   * optimised in the first seconds) start its batch late.
   */
  private adaptLead(preparedMs: number): void {
    if (this.fixedLeadMs !== undefined) return
    const wanted = Math.ceil(preparedMs * 2) + 2
    this.claimLeadMs = Math.min(MAX_CLAIM_LEAD_MS, Math.max(wanted, Math.floor(this.claimLeadMs * 0.98)))
  }

  /**
   * Runs claimed ahead wait at most the claim lead for their instant, and their slots are this
   * process's: no other can serve them. Stopping lets them start on their instant if it comes within
   * the grace (their time then counts against it); a second stop() cuts the wait short.
   */
  private async startPendingWithin(graceMs: number): Promise<void> {
    if (graceMs <= 0 || this.starts.soonest() === Number.POSITIVE_INFINITY) return
    let timer: TimerHandle | undefined
    await new Promise<void>((resolve) => {
      this.cutShort = resolve
      timer = this.clock.setTimeout(resolve, graceMs)
      void this.starts.whenStarted().then(resolve)
    })
    if (timer) this.clock.clearTimeout(timer)
    this.cutShort = undefined
  }

  /** Runs claimed ahead whose instant has not come when the scheduler stops are recorded, not lost. */
  private cancelPendingStarts(): Promise<void> {
    const now = this.clock.now()
    return this.recordUnstarted(
      this.starts.cancel(),
      () => ({
        status: 'interrupted',
        finishedAt: now,
        errorMessage: 'interrupted: the scheduler stopped before the slot came due',
        settled: true,
      }),
      'a run cancelled by shutdown',
    )
  }

  /** Record the outcome of claimed runs that were never started; a failed write is an engine error. */
  private async recordUnstarted(
    requests: readonly RunRequest[],
    outcome: (request: RunRequest) => RunOutcome,
    what: string,
  ): Promise<void> {
    const store = this.store
    if (store === undefined) return
    // Written together (one store flush), not one awaited write per run.
    const written = await Promise.allSettled(
      requests.map((request) => store.finishRun(request.runId, outcome(request))),
    )
    for (const result of written) {
      if (result.status === 'rejected') {
        this.events.emit('engine:error', { message: `could not record ${what}`, error: result.reason })
      }
    }
  }

  private scheduleHeartbeat(delayMs = this.options.heartbeatMs, plannedAt?: number): void {
    this.heartbeatTimer = this.clock.setTimeout(async () => {
      const now = this.clock.now()
      // Housekeeping writes (and any checkpoint they trigger) wait for a quiet moment rather than
      // delay a claim or the start of jobs due in the next few milliseconds, but never for long:
      // peers judge this instance alive by its heartbeat.
      const planned = plannedAt ?? now
      const busyFor = this.busyFor(now)
      if (busyFor > 0 && now - planned < MAX_HOUSEKEEPING_DELAY_MS && !this.stopping) {
        this.scheduleHeartbeat(busyFor, planned)
        return
      }
      try {
        await this.store?.heartbeat(this.instanceId, now)
        await this.reap(now)
        if (now - this.lastPrune >= PRUNE_EVERY_MS) await this.prune(now)
      } catch (error) {
        this.events.emit('engine:error', { message: 'heartbeat failed', error })
      }
      if (!this.stopping) this.scheduleHeartbeat()
    }, delayMs)
  }

  /**
   * How long until a claim or a start due within QUIET_MS is over (0 when nothing is): the heap's
   * next wake-up and the instants of runs claimed ahead.
   */
  private busyFor(now: number): number {
    let soonest = Number.POSITIVE_INFINITY
    const next = this.heap.peekKey()
    if (next !== undefined) soonest = next - this.claimLeadMs
    soonest = Math.min(soonest, this.starts.soonest())
    if (soonest - now > QUIET_MS) return 0
    return Math.max(0, soonest - now) + QUIET_MS
  }

  /** Runs left active by dead instances become interrupted (whoever notices first). */
  private async reap(now: number): Promise<ReapedRuns> {
    const store = await this.open()
    const reaped = await store.reapDeadInstances(now, this.options.instanceTtlMs)
    // Runs that already had an outcome (timed out, or interrupted at a shutdown, their code never
    // settled) only lose their overlap guard: nothing to report.
    if (reaped.interrupted.length > 0) {
      this.events.emit('runs:interrupted', { runIds: reaped.interrupted.map((r) => r.id) })
    }
    return reaped
  }

  private async prune(now: number): Promise<void> {
    this.lastPrune = now
    await (await this.open()).prune(now, this.config.history)
  }
}

function isResolved(job: JobDefinition | ResolvedJob): job is ResolvedJob {
  return typeof job.schedule === 'object' && 'kind' in job
}
