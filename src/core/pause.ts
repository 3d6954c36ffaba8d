// Pausing and resuming a job: which names may be paused, and the write. The CLI, an app or an HTTP
// server all go through `changePaused`, so they accept the same names.
import type { ResolvedConfig } from '../config/types.js'
import { CronsError, StateNeedsUpgrade, suggestClosest, unknownJob } from '../errors.js'
import { describeLocation } from '../store/location.js'
import type { Store } from '../store/types.js'

export interface PauseResult {
  job: string
  paused: boolean
  /** False when the job already was in the asked state. */
  changed: boolean
  /** Since when it is paused (ISO instant); null once resumed, or for a pause recorded before crons kept its time. */
  pausedAt: string | null
}

/** How the caller reaches the state; the engine never picks a store itself. */
export interface StateAccess {
  /** Undefined when there is no state yet. */
  read(): Promise<Store | undefined>
  write(): Promise<Store>
  /** Done with a store `read` or `write` gave. Default: close it (a store shared with a scheduler stays open). */
  release?(store: Store): Promise<void>
}

/**
 * Check the name, then persist the flag. A job the config no longer lists may be paused if the store
 * knows it. A typo never opens the state for writing.
 */
export async function changePaused(
  config: ResolvedConfig,
  state: StateAccess,
  name: string,
  paused: boolean,
  /** This host's clock: the pause is stamped on the store's. */
  hostNow: () => number,
): Promise<PauseResult> {
  const configured = config.jobs.some((j) => j.name === name)
  if (!configured) await assertKnownToStore(config, state, name)
  return withStore(state, await state.write(), async (store) => {
    const now = hostNow() + (await store.clockOffset(hostNow))
    return setJobPaused(store, name, paused, { configured, now })
  })
}

async function assertKnownToStore(config: ResolvedConfig, state: StateAccess, name: string): Promise<void> {
  const reading = await storeToCheck(state)
  const stored = reading
    ? await withStore(state, reading, async (store) => (await store.listJobs()).map((j) => j.name))
    : []
  if (stored.includes(name)) return
  const configured = config.jobs.map((j) => j.name)
  // With no config (a state read alone), the state's own jobs are the known ones.
  const error =
    configured.length === 0 && config.configPath === undefined
      ? unknownJob(name, stored, describeLocation(config.state), reading ? 'it records no jobs' : 'no state there yet')
      : unknownJob(name, configured, config.configPath)
  // Removed jobs can be paused too.
  throw new CronsError(error.code, error.message, { suggestions: suggestClosest(name, [...configured, ...stored]) })
}

/**
 * The store to check a name or a run id on before a write: read-only, so a typo never opens the state
 * for writing. A state too old to read read-only is opened for writing instead, which upgrades it as the
 * write that follows would (and as a command on a configured job, which reads nothing first, does).
 */
export async function storeToCheck(state: StateAccess): Promise<Store | undefined> {
  try {
    return await state.read()
  } catch (error) {
    if (error instanceof StateNeedsUpgrade) return state.write()
    throw error
  }
}

/** `use` a store `state` gave, then release it whatever `use` did. */
export async function withStore<T>(state: StateAccess, store: Store, use: (store: Store) => Promise<T>): Promise<T> {
  try {
    return await use(store)
  } finally {
    await (state.release ? state.release(store) : store.close())
  }
}

/**
 * Persist a job's paused flag; a running scheduler reads it in each slot claim. A configured job may
 * have no row yet, so one is made first.
 */
export async function setJobPaused(
  store: Store,
  name: string,
  paused: boolean,
  options: { configured: boolean; now: number },
): Promise<PauseResult> {
  const states = options.configured ? await store.syncJobs([name], options.now) : await store.listJobs()
  const state = states.find((s) => s.name === name)
  const before = state?.paused ?? false
  if (before !== paused) await store.setPaused(name, paused, options.now)
  const since = !paused ? null : before ? (state?.pausedAt ?? null) : options.now
  return {
    job: name,
    paused,
    changed: before !== paused,
    pausedAt: since === null ? null : new Date(since).toISOString(),
  }
}
