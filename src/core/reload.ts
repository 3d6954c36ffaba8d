/**
 * Applying a new config to a running scheduler (`Scheduler.reload`): which jobs were added, removed
 * or changed, and how each is scheduled from now on. Runs in progress are not touched: a run keeps
 * the definition it started with (its timeout, retries and code) to its end, retries included; the
 * overlap guard goes by the job's name, so a slot of the new definition is still skipped while a run
 * of the old one goes on. The `state` cannot change under a running scheduler: its store stays open
 * and the new value is reported as not applied.
 */
import { dirname } from 'node:path'
import type { CronsConfig, Hooks, ResolvedConfig, ResolvedJob } from '../config/types.js'
import type { Store } from '../store/types.js'
import { firstSlotOf } from './due.js'
import type { ClaimLoop } from './loop.js'

/** What a reload changed, as `config:reloaded` reports it. */
export interface ReloadResult {
  /** Jobs the new config lists and the old one did not. */
  added: string[]
  /** Jobs the old config listed and the new one does not: no longer scheduled (their history stays). */
  removed: string[]
  /**
   * Jobs in both whose definition differs: schedule, zone, timeout, retry, overlap, catch-up, misfire
   * grace, jitter, tags, description, `enabled`, hooks, or the text of their `run` or their command.
   */
  changed: string[]
  /** How many jobs are defined as before (they still run the new config's code from now on). */
  unchanged: number
  /** Settings the new config changes that a running scheduler cannot take: kept as they were, one line each. */
  notApplied: string[]
  /** The fingerprint of the config now running (`ResolvedConfig.configHash`), null for a config given in code. */
  configHash: string | null
}

/** What `applyReload` works on: the scheduler's own state, handed over by `Scheduler.reload`. */
export interface ReloadTarget {
  current: ResolvedConfig
  /** The jobs being scheduled, by name; changed in place. */
  jobs: Map<string, ResolvedJob>
  /** Whether the claim loop has its jobs queued (after `start()`). */
  started: boolean
  loop: ClaimLoop
  now: () => number
  store: () => Promise<Store>
  /** Makes the applied config the scheduler's; called before anything is awaited. */
  setConfig: (config: ResolvedConfig) => void
  /** Reports a store failure that did not stop the reload. */
  onError: (message: string, error: unknown) => void
}

/**
 * The config a reload applies: a resolved one as given, or an object as `defineConfig` takes it,
 * validated as `defineConfig` objects are. A config given in code without `state` keeps the running one.
 */
export async function resolveForReload(
  current: ResolvedConfig,
  config: CronsConfig | ResolvedConfig,
): Promise<ResolvedConfig> {
  if (isResolvedConfig(config)) return config
  const { validateConfig } = await import('../config/validate.js')
  const configDir = current.configPath === undefined ? process.cwd() : dirname(current.configPath)
  const resolved = validateConfig(config, {
    file: 'reload() config',
    configDir,
    expected: 'an object as defineConfig takes it, such as reload({ jobs: [...] })',
  })
  const given = typeof config === 'object' && config !== null && (config as { state?: unknown }).state !== undefined
  if (given) return resolved
  return {
    ...resolved,
    state: current.state,
    statePath: current.statePath,
    sources: { ...resolved.sources, state: current.sources.state },
  }
}

/** Apply `next` to the scheduler described by `target`; see the top of this file. */
export async function applyReload(target: ReloadTarget, next: ResolvedConfig): Promise<ReloadResult> {
  const { current, jobs, loop } = target
  const result = diffJobs(current, jobs, next)
  let applied = next
  if (next.statePath !== current.statePath) {
    result.notApplied.push(
      `state ${next.statePath} not applied: a running scheduler keeps ${current.statePath} (restart it to change the state)`,
    )
    applied = {
      ...next,
      state: current.state,
      statePath: current.statePath,
      sources: { ...next.sources, state: current.sources.state },
    }
  }
  result.configHash = applied.configHash ?? null

  // Everything the loop sees changes at once, before any await: no wake-up finds half a reload.
  const wanted = new Map<string, ResolvedJob>()
  for (const job of applied.jobs) if (job.enabled !== false) wanted.set(job.name, job)
  const requeue = new Map<string, ResolvedJob | null>()
  const fresh: ResolvedJob[] = []
  const rescheduled: ResolvedJob[] = []
  for (const name of jobs.keys()) if (!wanted.has(name)) requeue.set(name, null)
  for (const job of wanted.values()) {
    const old = jobs.get(job.name)
    if (old === undefined) fresh.push(job)
    else if (sameSchedule(old, job)) requeue.set(job.name, job)
    else {
      requeue.set(job.name, null)
      rescheduled.push(job)
    }
  }
  jobs.clear()
  for (const [name, job] of wanted) jobs.set(name, job)
  target.setConfig(applied)
  if (!target.started) return result
  loop.requeue(requeue)
  if (fresh.length > 0 || rescheduled.length > 0) await enqueue(target, fresh, rescheduled)
  loop.arm()
  return result
}

/**
 * Queue the first slot of each new job and each job whose schedule changed: after now, and after the
 * last slot the store has served under its name (another scheduler on the store may be ahead). The
 * slots a new schedule would have had before the reload are not missed: they were never its. A
 * one-off starts from its instant, which runs once within its misfire grace or is recorded missed —
 * never dropped — and is not run again if it was already served.
 */
async function enqueue(target: ReloadTarget, fresh: ResolvedJob[], rescheduled: ResolvedJob[]): Promise<void> {
  const { loop } = target
  let lastSlots = new Map<string, number | null>()
  try {
    const store = await target.store()
    lastSlots = new Map((await store.listJobs()).map((j) => [j.name, j.lastSlot]))
    // Jobs never served are this scheduler's from now, as at start(): a later outage counts as missed.
    if (fresh.length > 0)
      await store.syncJobs(
        fresh.map((job) => job.name),
        target.now(),
        { serving: true },
      )
  } catch (error) {
    // Scheduled anyway, from now: a job left unqueued would silently never run.
    target.onError('could not read the jobs of the reloaded config from the store; new schedules start from now', error)
  }
  const now = target.now()
  for (const job of [...fresh, ...rescheduled]) {
    const last = lastSlots.get(job.name) ?? null
    loop.enqueue(job, job.kind === 'at' ? firstSlotOf(job) : Math.max(now, last ?? now))
  }
}

/** Added, removed and changed jobs between what the scheduler runs and `next`. */
function diffJobs(
  current: ResolvedConfig,
  scheduled: ReadonlyMap<string, ResolvedJob>,
  next: ResolvedConfig,
): ReloadResult {
  // What the scheduler has: the config's jobs, as replaced or added since with `add()`.
  const before = new Map<string, ResolvedJob>()
  for (const job of current.jobs) before.set(job.name, job)
  for (const job of scheduled.values()) before.set(job.name, job)
  const result: ReloadResult = { added: [], removed: [], changed: [], unchanged: 0, notApplied: [], configHash: null }
  const names = new Set<string>()
  for (const job of next.jobs) {
    names.add(job.name)
    const old = before.get(job.name)
    if (old === undefined) result.added.push(job.name)
    else if (signature(old) !== signature(job)) result.changed.push(job.name)
    else result.unchanged++
  }
  for (const name of before.keys()) if (!names.has(name)) result.removed.push(name)
  return result
}

function sameSchedule(a: ResolvedJob, b: ResolvedJob): boolean {
  return a.kind === b.kind && a.scheduleText === b.scheduleText && a.zone === b.zone
}

/** Everything a job's definition says, as text; functions by their source. */
function signature(job: ResolvedJob): string {
  const hooks = (hooks: Hooks) => Object.fromEntries(Object.entries(hooks).map(([name, fn]) => [name, String(fn)]))
  return JSON.stringify({
    kind: job.kind,
    schedule: job.scheduleText,
    zone: job.zone,
    timeoutMs: job.timeoutMs,
    retry: job.retry,
    overlap: job.overlap,
    catchUp: job.catchUp,
    misfireGraceMs: job.misfireGraceMs,
    jitterMs: job.jitterMs,
    tags: job.tags,
    description: job.description ?? null,
    enabled: job.enabled,
    hooks: hooks(job.hooks),
    work: job.command === undefined ? String(job.run) : job.command,
  })
}

function isResolvedConfig(config: CronsConfig | ResolvedConfig): config is ResolvedConfig {
  return typeof config === 'object' && config !== null && 'statePath' in config && 'sources' in config
}
