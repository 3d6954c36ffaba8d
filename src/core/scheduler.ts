/**
 * The scheduler: its lifecycle (start, stop, in whatever order calls come), its jobs, and manual
 * runs. Serving slots is the claim loop's (loop.ts), running them the runner's (runner.ts), the
 * heartbeat, reaping and pruning housekeeping's (housekeeping.ts). docs/engine.md follows one slot
 * through all of them.
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Initiator, JobDefinition, ResolvedConfig, ResolvedJob } from '../config/types.js'
import { CronsError, quote, unknownJob } from '../errors.js'
import type { InstanceRole, RunOutcome, Store } from '../store/types.js'
import { type Clock, systemClock } from './clock.js'
import { EngineEmitter } from './events.js'
import { DEFAULT_HEARTBEAT_MS, DEFAULT_INSTANCE_TTL_MS, Housekeeping } from './housekeeping.js'
import { ClaimLoop } from './loop.js'
import { processStartOf } from './process-identity.js'
import { Recorder } from './recorder.js'
import { Runner, type RunRequest, type RunResult } from './runner.js'
import { Starts } from './starts.js'

/** Opens the store a config's `state` names; the CLI and `createScheduler` pass the store registry. */
export type OpenStore = (state: ResolvedConfig['statePath']) => Promise<Store>

export interface SchedulerOptions {
  clock?: Clock
  /** A store to use instead of opening `config.statePath` (the caller then owns closing it). */
  store?: Store
  /** How to open the store when `store` is not given. @default the built-in stores */
  openStore?: OpenStore
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
  /**
   * Start jobs on their instant to the millisecond by blocking the event loop for the last few
   * milliseconds before it (at most 16 ms, at most once per 80 ms). `crons start-scheduler` turns it
   * on; an app embedding the scheduler keeps its event loop free unless it asks. @default false
   */
  preciseStart?: boolean
}

export interface RunJobOptions {
  /** Run even when the job is running somewhere. */
  force?: boolean
  /** Overrides the job's timeout, in milliseconds. */
  timeoutMs?: number
}

export class Scheduler {
  readonly events = new EngineEmitter()
  private currentId: string
  private readonly fixedId: string | undefined
  private readonly clock: Clock
  private readonly jobs = new Map<string, ResolvedJob>()
  private readonly options: {
    initiator: Initiator
    maxSleepMs: number
    heartbeatMs: number
    instanceTtlMs: number
    random: () => number
  }
  private readonly loop: ClaimLoop
  private readonly housekeeping: Housekeeping
  /** Runs claimed ahead of their slot, waiting for the instant. */
  private readonly starts: Starts
  private store: Store | undefined
  private readonly ownsStore: boolean
  private readonly openStore: OpenStore | undefined
  private opening: Promise<Store> | undefined
  private runner: Runner | undefined
  private recorder: Recorder | undefined
  private starting: Promise<void> | undefined
  private started = false
  /** What this process registers as; see `open()`. */
  private role: InstanceRole = 'runner'
  private registeredAs: InstanceRole | undefined
  private stopping: Promise<void> | undefined
  /** A second stop() came: no step of the stop waits any more. */
  private graceCancelled = false
  /** Ends the wait of a stop for runs claimed ahead (a second stop()). */
  private cancelGraceWait: (() => void) | undefined

  constructor(
    readonly config: ResolvedConfig,
    options: SchedulerOptions = {},
  ) {
    this.clock = options.clock ?? systemClock
    this.store = options.store
    this.ownsStore = options.store === undefined
    this.openStore = options.openStore
    this.fixedId = options.instanceId
    this.currentId = options.instanceId ?? newInstanceId()
    this.options = {
      initiator: options.initiator ?? 'library',
      maxSleepMs: options.maxSleepMs ?? 30_000,
      heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
      instanceTtlMs: options.instanceTtlMs ?? DEFAULT_INSTANCE_TTL_MS,
      random: options.random ?? Math.random,
    }
    this.starts = new Starts(this.clock, this.events, () => this.getRunner(), {
      maxSleepMs: this.options.maxSleepMs,
      recordUnstarted: (requests, outcome, what) => this.recordUnstarted(requests, outcome, what),
      precise: options.preciseStart ?? false,
    })
    this.loop = new ClaimLoop({
      clock: this.clock,
      events: this.events,
      starts: this.starts,
      store: () => this.open(),
      recorder: () => this.recorder,
      instanceId: () => this.currentId,
      isCurrent: (job) => this.jobs.get(job.name) === job,
      activeCount: (job) => this.runner?.activeCount(job) ?? 0,
      maxSleepMs: this.options.maxSleepMs,
      claimLeadMs: options.claimLeadMs,
    })
    this.housekeeping = new Housekeeping({
      clock: this.clock,
      events: this.events,
      store: () => this.open(),
      recorder: () => this.recorder,
      loop: this.loop,
      instanceId: () => this.currentId,
      history: config.history,
      heartbeatMs: this.options.heartbeatMs,
      instanceTtlMs: this.options.instanceTtlMs,
      onFatal: (message, error) => this.fail(message, error),
      onLeaseLost: () => this.leaseLost(),
    })
    for (const job of config.jobs) this.jobs.set(job.name, job)
  }

  /** This process's id in the store (a new one after it lost its lease to a peer). */
  get instanceId(): string {
    return this.currentId
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
      this.loop.forget(resolved.name)
      const store = await this.open()
      const states = await store.syncJobs([resolved.name], this.clock.now(), { serving: true })
      const [state] = states.filter((j) => j.name === resolved.name)
      this.loop.enqueue(resolved, state?.lastSlot ?? null)
      this.loop.arm()
    }
    return resolved
  }

  /**
   * Open the store, recover from dead peers, and start firing slots. Calling it again (before or
   * after it finished) returns the same start; a stop() during it ends it at the next step.
   */
  async start(): Promise<void> {
    this.assertNotStopped('start')
    this.starting ??= this.startOnce()
    return this.starting
  }

  private async startOnce(): Promise<void> {
    this.role = 'scheduler'
    const store = await this.open()
    if (this.stopping) return
    // Opened earlier for a manual run: registered as a runner then.
    if (this.registeredAs !== 'scheduler') await this.register(store)
    if (this.stopping) return
    const now = this.clock.now()
    await this.housekeeping.reap(now)
    if (this.stopping) return
    // Jobs never served are this scheduler's from now: an outage before their first slot is missed.
    const states = await store.syncJobs([...this.jobs.keys()], now, { serving: true })
    if (this.stopping) return
    const lastSlots = new Map(states.map((s) => [s.name, s.lastSlot]))
    for (const job of this.jobs.values()) this.loop.enqueue(job, lastSlots.get(job.name) ?? null)
    this.started = true
    this.events.emit('started', { instanceId: this.currentId })
    this.housekeeping.start({ prune: true })
    await this.loop.run()
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
    await this.housekeeping.reap(now)
    await store.syncJobs([name], now)
    if (!this.housekeeping.running) this.housekeeping.start({ prune: false })
    const begun = await store.beginRun(
      { job: name, slot: now, trigger: 'manual', attempt: 1, overlap: options.force ? 'allow' : 'skip' },
      this.currentId,
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
   * interrupted; mark this instance stopped and close the store. A second call cuts the grace short
   * and waits for nothing more (hooks included).
   */
  stop(options: { graceMs?: number } = {}): Promise<void> {
    if (this.stopping) {
      this.graceCancelled = true
      this.cancelGraceWait?.()
      this.runner?.interruptNow()
      return this.stopping
    }
    this.stopping = this.stopOnce(options.graceMs ?? this.config.shutdownGraceMs)
    return this.stopping
  }

  private async stopOnce(graceMs: number): Promise<void> {
    this.housekeeping.stop()
    // A start in progress ends at its next step; a wake-up claiming slots finishes first, so the
    // runs it starts are drained too.
    await this.loop.stop()
    await this.starting?.catch(() => undefined)
    const began = this.clock.now()
    const graceLeft = () => (this.graceCancelled ? 0 : Math.max(0, graceMs - (this.clock.now() - began)))
    await this.startPendingWithin(graceLeft())
    await this.cancelPendingStarts()
    const who = this.role === 'scheduler' ? 'the scheduler shut down' : 'stopped'
    await this.runner?.drain(graceLeft(), `${who} before the job finished`)
    await this.recorder?.retry()
    const store = this.store ?? (await this.opening?.catch(() => undefined))
    if (store) {
      try {
        await store.stopInstance(this.currentId, this.clock.now())
      } catch (error) {
        this.events.emit('engine:error', { message: 'could not mark this instance stopped', error })
      }
      if (this.ownsStore) await store.close()
    }
    this.events.emit('stopped', { instanceId: this.currentId })
  }

  /** The scheduler cannot go on (its loop died, its state file is gone): report it and stop. */
  private fail(message: string, error: unknown): void {
    this.events.emit('scheduler:failed', { message, error })
    if (!this.stopping) void this.stop()
  }

  /**
   * A peer found this process dead (it was stalled past its lease) and took its runs: their outcomes
   * here would be refused, so their jobs are told to stop, and this process carries on under a new
   * instance id.
   */
  private async leaseLost(): Promise<void> {
    const lost = this.currentId
    this.runner?.abortAll('interrupted: this scheduler was stalled past its lease and a peer took over its runs')
    this.currentId = this.fixedId === undefined ? newInstanceId() : `${this.fixedId}-${Date.now().toString(36)}`
    this.events.emit('engine:error', {
      message: `instance ${lost} was found dead by a peer (stalled past its lease); its runs were taken over, continuing as ${this.currentId}`,
      error: undefined,
    })
    if (this.store) await this.register(this.store)
  }

  /**
   * The store, opened on first use, with this process registered as an instance: a `runner` until
   * `start()` makes it a `scheduler` (status counts only schedulers as serving slots).
   */
  async open(): Promise<Store> {
    this.opening ??= (async () => {
      if (!this.store) {
        if (!this.openStore) {
          throw new CronsError('INTERNAL', 'no store: pass `store` or `openStore` in the scheduler options')
        }
        this.store = await this.openStore(this.config.statePath)
      }
      this.recorder = new Recorder(this.store, this.events)
      await this.register(this.store)
      return this.store
    })()
    return this.opening
  }

  private async register(store: Store): Promise<void> {
    const role = this.role
    await store.registerInstance({
      id: this.currentId,
      role,
      host: hostname(),
      pid: process.pid,
      processStart: processStartOf(process.pid),
      now: this.clock.now(),
    })
    this.registeredAs = role
  }

  private getRunner(): Runner {
    this.runner ??= new Runner({
      store: this.store as Store,
      recorder: this.recorder as Recorder,
      clock: this.clock,
      events: this.events,
      instanceId: () => this.currentId,
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

  /**
   * Runs claimed ahead wait at most the claim lead for their instant, and their slots are this
   * process's: no other can serve them. Stopping lets them start on their instant if it comes within
   * the grace (their time then counts against it); a second stop() cuts the wait short.
   */
  private async startPendingWithin(graceMs: number): Promise<void> {
    if (graceMs <= 0 || this.starts.soonest() === Number.POSITIVE_INFINITY) return
    let timer: ReturnType<Clock['setTimeout']> | undefined
    await new Promise<void>((resolve) => {
      this.cancelGraceWait = resolve
      timer = this.clock.setTimeout(resolve, graceMs)
      void this.starts.whenStarted().then(resolve)
    })
    if (timer) this.clock.clearTimeout(timer)
    this.cancelGraceWait = undefined
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

  /** Record the outcome of claimed runs that were never started (through the one recorder). */
  private async recordUnstarted(
    requests: readonly RunRequest[],
    outcome: (request: RunRequest) => RunOutcome,
    _what: string,
  ): Promise<void> {
    const recorder = this.recorder
    if (recorder === undefined) return
    await Promise.all(requests.map((request) => recorder.finish(request.runId, outcome(request))))
  }
}

function newInstanceId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`
}

function isResolved(job: JobDefinition | ResolvedJob): job is ResolvedJob {
  return typeof job.schedule === 'object' && 'kind' in job
}
