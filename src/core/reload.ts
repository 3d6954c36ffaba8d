// Applying a new config to a running scheduler (`Scheduler.reload`): which jobs were added, removed or
// changed, and how each is queued from now on. docs/engine.md: "Branches", Reload.
import { dirname } from 'node:path'
import type { CronsConfig, Hooks, ResolvedConfig, ResolvedJob } from '../config/types.js'
import type { Store } from '../store/types.js'
import { firstSlotOf, sameSchedule } from './due.js'
import type { ClaimLoop } from './loop.js'

/** What a reload changed, as `config:reloaded` reports it. */
export interface ReloadResult {
  /** Jobs the new config lists and the old one did not. */
  added: string[]
  /** Jobs the old config listed and the new one does not: no longer scheduled (their history stays). */
  removed: string[]
  /** Jobs in both whose definition differs (any setting, hooks, or the text of their `run` or command). */
  changed: string[]
  /** How many jobs are defined as before (they still run the new config's code from now on). */
  unchanged: number
  /** Settings the new config changes that a running scheduler cannot take: kept as they were, one line each. */
  notApplied: string[]
  /** The fingerprint of the config now running (`ResolvedConfig.configHash`), null for a config given in code. */
  configHash: string | null
}

/** The scheduler's own state, handed over by `Scheduler.reload`. */
export interface ReloadTarget {
  current: ResolvedConfig
  /** The jobs being scheduled, by name; changed in place. */
  jobs: Map<string, ResolvedJob>
  /** After `start()`: the claim loop has its jobs queued. */
  started: boolean
  loop: ClaimLoop
  now: () => number
  store: () => Promise<Store>
  /** Makes the applied config the scheduler's; called before anything is awaited. */
  setConfig: (config: ResolvedConfig) => void
  /** Reports a store failure that did not stop the reload. */
  onError: (message: string, error: unknown) => void
}

/** A resolved config as given, or one validated as `defineConfig` does; without `state` it keeps the running one. */
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
  return given ? resolved : withStateOf(current, resolved)
}

/** A run in progress keeps its definition to its end; a new `state` is reported, not applied. */
export async function applyReload(target: ReloadTarget, next: ResolvedConfig): Promise<ReloadResult> {
  const { current, jobs, loop } = target
  const result = diffJobs(current, jobs, next)
  let applied = next
  if (next.statePath !== current.statePath) {
    result.notApplied.push(
      `state ${next.statePath} not applied: a running scheduler keeps ${current.statePath} (restart it to change the state)`,
    )
    applied = withStateOf(current, next)
  }
  result.configHash = applied.configHash ?? null

  // Everything the loop sees changes at once, before any await: no wake-up finds half a reload.
  const wanted = new Map(applied.jobs.filter((job) => job.enabled !== false).map((job) => [job.name, job]))
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

/** Queue after now and after the last slot the store served under the name (a peer may be ahead). */
async function enqueue(target: ReloadTarget, fresh: ResolvedJob[], rescheduled: ResolvedJob[]): Promise<void> {
  const { loop } = target
  let lastSlots = new Map<string, number | null>()
  try {
    const store = await target.store()
    lastSlots = new Map((await store.listJobs()).map((j) => [j.name, j.lastSlot]))
    // Served from now, as at start(): a later outage counts as missed.
    const names = fresh.map((job) => job.name)
    if (names.length > 0) await store.syncJobs(names, target.now(), { serving: true })
  } catch (error) {
    // Scheduled anyway, from now: a job left unqueued would silently never run.
    target.onError('could not read the jobs of the reloaded config from the store; new schedules start from now', error)
  }
  const now = target.now()
  for (const job of [...fresh, ...rescheduled]) {
    const last = lastSlots.get(job.name) ?? null
    // A one-off served before (its slot claim may since be pruned) is not queued again.
    loop.enqueue(job, job.kind === 'at' ? (last ?? firstSlotOf(job)) : Math.max(now, last ?? now))
  }
}

function diffJobs(
  current: ResolvedConfig,
  scheduled: ReadonlyMap<string, ResolvedJob>,
  next: ResolvedConfig,
): ReloadResult {
  // What the scheduler has: the config's jobs, as replaced or added since with `add()`.
  const before = new Map([...current.jobs, ...scheduled.values()].map((job) => [job.name, job]))
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

/** Functions by their source. */
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

function withStateOf(current: ResolvedConfig, next: ResolvedConfig): ResolvedConfig {
  return {
    ...next,
    state: current.state,
    statePath: current.statePath,
    sources: { ...next.sources, state: current.sources.state },
  }
}

function isResolvedConfig(config: CronsConfig | ResolvedConfig): config is ResolvedConfig {
  return typeof config === 'object' && config !== null && 'statePath' in config && 'sources' in config
}
