// The scheduler: its lifecycle (start, stop, in any order), its jobs, and manual runs; it wires the
// claim loop, starts, runner and housekeeping together. docs/engine.md: "One slot, start to end".
import type { CronsConfig, JobDefinition, ResolvedConfig, ResolvedJob } from '../config/types.js'
import { CronsError } from '../errors.js'
import type { PendingRetry, Store } from '../store/types.js'
import { type CancelOptions, cancelRun } from './cancel.js'
import { StoreTimeClock, systemClock } from './clock.js'
import { ClockSync } from './clock-sync.js'
import { EngineEmitter } from './events.js'
import { Housekeeping } from './housekeeping.js'
import { Instance } from './instance.js'
import { ClaimLoop } from './loop.js'
import { beginManualRun, manualJob } from './manual-run.js'
import {
  type ResolvedOptions,
  type RunJobOptions,
  resolveAddedJob,
  resolveOptions,
  type SchedulerOptions,
} from './options.js'
import { Outage } from './outage.js'
import { changePaused, type PauseResult } from './pause.js'
import { applyReload, type ReloadResult, resolveForReload } from './reload.js'
import type { RunResult } from './runner.js'
import { StoreSession } from './session.js'
import { StartQueue } from './start-queue.js'
import {
  type AttemptDetailJson,
  type AttemptFilter,
  type AttemptView,
  attemptDetail,
  attemptDetailJson,
  attemptViews,
} from './views.js'

export type { OpenStore, RunJobOptions, SchedulerOptions } from './options.js'

export class Scheduler {
  readonly events = new EngineEmitter()
  private readonly instance: Instance
  private readonly clock: StoreTimeClock
  private readonly jobs = new Map<string, ResolvedJob>()
  private readonly options: ResolvedOptions
  private readonly loop: ClaimLoop
  private readonly housekeeping: Housekeeping
  private readonly starts: StartQueue
  private readonly session: StoreSession
  private starting: Promise<void> | undefined
  private started = false
  private stopping: Promise<void> | undefined
  private graceCancelled = false
  private cancelGraceWait: (() => void) | undefined
  private current: ResolvedConfig
  private reloading: Promise<unknown> = Promise.resolve()
  /** Calls begun before a stop that may still write to the store: the stop waits for them before closing it. */
  private readonly calls = new Set<Promise<unknown>>()
  /** Aborted when the stop begins: ends a cancel's wait for another process. */
  private readonly stopSignal = new AbortController()

  constructor(config: ResolvedConfig, options: SchedulerOptions = {}) {
    this.options = resolveOptions(config.state, options)
    this.current = config
    this.clock = new StoreTimeClock(options.clock ?? systemClock)
    this.instance = new Instance(options.instanceId, this.clock, () => this.current.configHash ?? null)
    const outage = new Outage(this.clock, this.events, () => this.loop.wake())
    const shared = { clock: this.clock, events: this.events, outage, instanceId: () => this.instance.id }
    const clockSync = new ClockSync({
      clock: this.clock,
      events: this.events,
      measured: (clockOffsetMs) => this.instance.update(this.session.store, { clockOffsetMs }),
    })
    const storeDeps = { ...shared, clockSync, store: () => this.open(), recorder: () => this.session.recorder }
    this.session = new StoreSession({
      store: options.store,
      openStore: options.openStore,
      state: () => this.current.state,
      clockSync,
      instance: this.instance,
      events: this.events,
      outage,
      runner: {
        ...shared,
        hooks: () => this.current.hooks,
        random: this.options.random,
        echoConsole: options.echoConsole ?? true,
        renewLease: (now) => this.housekeeping.renewIfStale(now),
      },
    })
    this.starts = new StartQueue(this.clock, this.events, () => this.session.getRunner(), {
      maxSleepMs: this.options.maxSleepMs,
      recorder: () => this.session.recorder,
      precise: options.preciseStart ?? false,
    })
    this.loop = new ClaimLoop({
      ...storeDeps,
      starts: this.starts,
      current: (name) => this.jobs.get(name),
      activeCount: (job) => this.session.runner?.activeCount(job) ?? 0,
      maxSleepMs: this.options.maxSleepMs,
      claimLeadMs: options.claimLeadMs,
      beforeClaim: (now) => this.housekeeping.renewIfStale(now),
    })
    this.housekeeping = new Housekeeping({
      ...storeDeps,
      loop: this.loop,
      history: () => this.current.history,
      lease: { heartbeatMs: this.options.heartbeatMs, instanceTtlMs: this.options.instanceTtlMs },
      onFatal: (message, error) => this.fail(message, error),
      onLeaseLost: () => this.leaseLost(),
      adoptRetries: (pending) => this.adoptRetries(pending),
      onCancelRequests: (requests) => {
        for (const { runId, message } of requests) void this.session.runner?.cancel(runId, message)
      },
    })
    for (const job of config.jobs) if (job.enabled !== false) this.jobs.set(job.name, job)
  }

  /** This process's id in the store (a new one after a peer took over its lease). */
  get instanceId(): string {
    return this.instance.id
  }

  /** The one it was created with, or the last one `reload()` applied. */
  get config(): ResolvedConfig {
    return this.current
  }

  /** The time on the store's clock (the database server's for Postgres). */
  now(): number {
    return this.clock.now()
  }

  /** The store's clock minus this host's, as last measured (0 for a state file). */
  get clockOffsetMs(): number {
    return this.clock.offsetMs
  }

  list(): ResolvedJob[] {
    return [...this.jobs.values()]
  }

  /**
   * Add (or replace) a job; a running scheduler picks it up at once, as a reload would: a new or changed
   * schedule from now (a job added disabled stops one of its name; runJob() runs it only when forced).
   */
  add(job: JobDefinition | ResolvedJob): Promise<ResolvedJob> {
    return this.oneAtATime('add a job', async () => {
      const resolved = await resolveAddedJob(job, this.config.timezone)
      // A start in progress may have listed its jobs already: this one is queued once it has.
      if (!this.started) await this.starting?.catch(() => undefined)
      await this.apply(withJob(this.current, resolved.name, resolved))
      return resolved
    })
  }

  /** Stop scheduling a job (its history stays, a run in progress goes on); whether it was scheduled here. */
  remove(name: string): boolean {
    this.assertNotStopped('remove a job')
    this.loop.forget(name)
    this.current = withJob(this.current, name, undefined)
    return this.jobs.delete(name)
  }

  /** Run another config from now on (docs/library.md); emits `config:reloaded` with what it returns. */
  reload(config: CronsConfig | ResolvedConfig): Promise<ReloadResult> {
    return this.oneAtATime('reload the config', async () => {
      // A start in progress first queues the jobs it has; the reload then replaces them.
      if (!this.started) await this.starting?.catch(() => undefined)
      const next = await resolveForReload(this.current, config)
      this.assertNotStopped('reload the config')
      const result = await this.apply(next)
      try {
        await this.instance.update(this.session.store, { configHash: result.configHash })
      } catch (error) {
        this.events.emit('engine:error', {
          message: 'could not record the reloaded config in the instance row',
          error,
        })
      }
      this.events.emit('config:reloaded', result)
      return result
    })
  }

  /** Reloads and adds apply one at a time, each to the config the one before left. */
  private oneAtATime<T>(what: string, call: () => Promise<T>): Promise<T> {
    const done = this.reloading.then(() => this.track(what, call))
    this.reloading = done.catch(() => undefined)
    return done
  }

  /** `next` becomes the config the scheduler runs, its jobs queued as reload.ts says. */
  private apply(next: ResolvedConfig): Promise<ReloadResult> {
    return applyReload(
      {
        current: this.current,
        jobs: this.jobs,
        started: this.started,
        loop: this.loop,
        now: () => this.clock.now(),
        store: () => this.open(),
        setConfig: (applied) => {
          this.current = applied
        },
        onError: (message, error) => this.events.emit('engine:error', { message, error }),
      },
      next,
    )
  }

  /** Open the store, reap dead peers, start firing slots; calling again returns the same start. */
  async start(): Promise<void> {
    this.assertNotStopped('start')
    this.starting ??= this.startOnce().catch((error: unknown) => {
      // A start that failed before it served any job (the store out of reach) may be tried again.
      if (!this.started && !this.stopping) this.starting = undefined
      throw error
    })
    return this.starting
  }

  private async startOnce(): Promise<void> {
    this.instance.role = 'scheduler'
    const store = await this.open()
    if (this.stopping) return
    if (this.instance.registeredAs !== 'scheduler') await this.instance.register(store)
    if (this.stopping) return
    const now = this.clock.now()
    await this.housekeeping.reap(now)
    if (this.stopping) return
    await this.loop.serve([...this.jobs.values()], now)
    if (this.stopping) return
    this.started = true
    this.events.emit('started', { instanceId: this.instance.id })
    // Retries not adopted now are at a later heartbeat, which sees them orphaned too.
    await this.adoptRetries().catch((error: unknown) => {
      this.events.emit('engine:error', { message: 'could not look for retries a stopped scheduler left', error })
    })
    // A `started` listener may have begun a stop, or one came while the retries were looked for.
    if (this.stopping) return
    this.housekeeping.start({ prune: true })
    await this.loop.run()
  }

  private async adoptRetries(orphaned?: PendingRetry[]): Promise<void> {
    if (!this.started || this.stopping) return
    const retries = orphaned ?? (await (await this.open()).orphanedRetries())
    if (this.stopping) return
    for (const pending of retries) {
      const job = this.jobs.get(pending.job)
      if (job !== undefined) this.session.getRunner().adoptRetry(job, pending)
    }
  }

  /** Each job's next run, as `list-jobs --json` names it. */
  nextRuns(): { job: string; nextRun: string | null }[] {
    const now = this.clock.now()
    return [...this.jobs.values()].map((job) => {
      const next = job.schedule.next(now)
      return { job: job.name, nextRun: next === null ? null : new Date(next).toISOString() }
    })
  }

  /** Pause a job in every process sharing the store, as `crons pause-job` does. */
  pause(name: string): Promise<PauseResult> {
    return this.setPaused(name, true)
  }

  /** Resume a paused job, as `crons resume-job` does. */
  resume(name: string): Promise<PauseResult> {
    return this.setPaused(name, false)
  }

  private async setPaused(name: string, paused: boolean): Promise<PauseResult> {
    return this.track(paused ? 'pause a job' : 'resume a job', async () => {
      const store = await this.open()
      const shared = { read: async () => store, write: async () => store, release: async () => {} }
      return changePaused(this.config, shared, name, paused, () => this.clock.base.now())
    })
  }

  /** Attempts, newest last, in the shape of `crons logs --json` (default: the latest 50). */
  async runs(filter: AttemptFilter = {}): Promise<AttemptView[]> {
    return this.track('read the runs', async () => attemptViews(await this.open(), filter))
  }

  /** One attempt in full, in the shape of `crons logs --run ID --json`; undefined if there is none. */
  async run(id: number): Promise<AttemptDetailJson | undefined> {
    return this.track('read a run', async () => {
      const record = await (await this.open()).getRun(id)
      return record === undefined ? undefined : attemptDetailJson(attemptDetail(record))
    })
  }

  /**
   * Cancel a running attempt, here at once or through its process's next heartbeat, or a failed
   * attempt's pending retry (cancel.ts); resolves as `run(id)` of the attempt recorded cancelled.
   */
  async cancel(runId: number, options: CancelOptions = {}): Promise<AttemptDetailJson> {
    return this.track('cancel a run', async () => {
      const store = await this.open()
      const runner = this.session.runner
      const cancelActive = runner && ((id: number, message: string) => runner.cancel(id, message))
      const cancelRetry = runner && ((id: number, message: string) => runner.cancelRetry(id, message))
      const env = { store, clock: this.clock, cancelActive, cancelRetry, stopped: this.stopSignal.signal }
      return attemptDetailJson(attemptDetail(await cancelRun(env, runId, options)))
    })
  }

  /** Run a job now as a scheduled run would (trigger `manual`); refused while it runs anywhere unless `force`. */
  async runJob(name: string, options: RunJobOptions = {}): Promise<RunResult> {
    const { run } = await this.track('run a job', async () => {
      const job = manualJob(this.config, this.jobs, name, options.force === true)
      const store = await this.open()
      const now = this.clock.now()
      // Self-fencing first: after an outage the reaping below would take this instance's own lease for expired.
      // (Before any heartbeat, the lease is the registration the open just wrote.)
      if (this.housekeeping.running) await this.housekeeping.renewIfStale(now)
      await this.housekeeping.reap(now)
      await store.syncJobs([name], now)
      this.assertNotStopped('run a job')
      if (!this.housekeeping.running) this.housekeeping.start({ prune: false })
      const at = { now, instanceId: this.instance.id, initiator: this.options.initiator }
      const request = await beginManualRun(store, job, options, at)
      // Begun, so it runs: a stop that came meanwhile gives it the grace, as it gives every running job.
      return { run: this.session.getRunner().execute(request) }
    })
    return run
  }

  /** `work`, refused once a stop has begun; a stop waits for it before it closes the store. */
  private track<T>(what: string, work: () => Promise<T>): Promise<T> {
    this.assertNotStopped(what)
    const call = work()
    const settled = call.catch(() => undefined).finally(() => this.calls.delete(settled))
    this.calls.add(settled)
    return call
  }

  private assertNotStopped(what: string): void {
    if (this.stopping === undefined) return
    throw new CronsError('SCHEDULER_STOPPED', `cannot ${what}: this scheduler was stopped`, {
      suggestions: ['create a new one to start again'],
    })
  }

  /** Stop claiming, give running jobs `graceMs`, then interrupt them; a second call cuts the grace short. */
  stop(options: { graceMs?: number } = {}): Promise<void> {
    if (this.stopping) {
      this.graceCancelled = true
      this.cancelGraceWait?.()
      this.session.runner?.interruptNow()
      return this.stopping
    }
    this.stopping = this.stopOnce(options.graceMs ?? this.config.shutdownGraceMs)
    return this.stopping
  }

  private async stopOnce(graceMs: number): Promise<void> {
    this.stopSignal.abort()
    const housekeeping = this.housekeeping.drain()
    // A start in progress ends at its next step; a wake-up claiming finishes first, so its runs are drained too.
    await this.loop.stop()
    await this.starting?.catch(() => undefined)
    // Calls, and a heartbeat or pruning step, begun before the stop end first: their writes land, a run one began is drained.
    await Promise.all([housekeeping, ...this.calls])
    const began = this.clock.now()
    const graceLeft = () => (this.graceCancelled ? 0 : Math.max(0, graceMs - (this.clock.now() - began)))
    await this.starts.stop(graceLeft(), (end) => {
      this.cancelGraceWait = end
    })
    this.cancelGraceWait = undefined
    const who = this.instance.role === 'scheduler' ? 'the scheduler shut down' : 'stopped'
    await this.session.runner?.drain(graceLeft(), `${who} before the job finished`)
    // The heartbeat renewed the lease while the jobs ran: peers saw a live process, cancel requests were read.
    await this.housekeeping.stop()
    await this.session.close(() => this.clock.now())
    this.events.emit('stopped', { instanceId: this.instance.id })
  }

  private fail(message: string, error: unknown): void {
    this.events.emit('scheduler:failed', { message, error })
    if (!this.stopping) void this.stop()
  }

  /** A peer reaped this stalled process: its runs' outcomes would be refused; abort them, go on under a new id. */
  private async leaseLost(): Promise<void> {
    this.session.runner?.abortAll(
      'interrupted: this scheduler was stalled past its lease and a peer took over its runs',
    )
    const lost = this.instance.renew()
    const message = `instance ${lost} was found dead by a peer (stalled past its lease); its runs were taken over, continuing as ${this.instance.id}`
    this.events.emit('engine:error', { message, error: undefined })
    if (this.session.store) await this.instance.register(this.session.store)
  }

  /** The store, opened on first use, with this process registered as an instance (a `runner` until `start()`). */
  open(): Promise<Store> {
    return this.session.open()
  }
}

/** `config` with its job `name` replaced by `job`, or dropped: the config says what the scheduler runs now. */
function withJob(config: ResolvedConfig, name: string, job: ResolvedJob | undefined): ResolvedConfig {
  const jobs = config.jobs.filter((j) => j.name !== name)
  return { ...config, jobs: job === undefined ? jobs : [...jobs, job] }
}
