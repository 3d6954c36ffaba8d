/**
 * Pausing and resuming a job: which names may be paused, and the write. The CLI's `pause-job` and
 * `resume-job`, and an app or HTTP server, go through `changePaused` so they accept the same names.
 */
import type { ResolvedConfig } from '../config/types.js'
import { CronsError, suggestClosest, unknownJob } from '../errors.js'
import type { Store } from '../store/types.js'

export interface PauseResult {
  job: string
  paused: boolean
  /** False when the job already was in the asked state (the command is idempotent). */
  changed: boolean
  /**
   * Since when it is paused (ISO instant), as `list-jobs --json` says it; null once resumed, or for a
   * pause recorded before crons kept its time.
   */
  pausedAt: string | null
}

/**
 * How the caller reaches the state: read-only (undefined when there is no state yet) and, only once
 * the name is known to be good, read-write. The engine never picks a store itself.
 */
export interface StateAccess {
  read(): Promise<Store | undefined>
  write(): Promise<Store>
  /** Done with a store `read` or `write` gave. Default: close it; a store shared with a running scheduler is kept open instead. */
  release?(store: Store): Promise<void>
}

/**
 * Check the name, then persist the flag. A job the config no longer lists may still be paused if
 * the store knows it (its slots would be skipped should it come back). The name is checked before
 * the state is opened for writing, so a typo never creates or touches the state file.
 */
export async function changePaused(
  config: ResolvedConfig,
  state: StateAccess,
  name: string,
  paused: boolean,
  /** This host's clock: since when a job is paused is recorded on the store's (the database server's). */
  hostNow: () => number,
): Promise<PauseResult> {
  const configured = config.jobs.some((j) => j.name === name)
  if (!configured) await assertKnownToStore(config, state, name)
  const store = await state.write()
  try {
    const now = hostNow() + (await store.clockOffset(hostNow))
    return await setJobPaused(store, name, paused, { configured, now })
  } finally {
    await release(state, store)
  }
}

async function assertKnownToStore(config: ResolvedConfig, state: StateAccess, name: string): Promise<void> {
  const reading = await state.read()
  let stored: string[] = []
  try {
    stored = reading ? (await reading.listJobs()).map((j) => j.name) : []
  } finally {
    if (reading) await release(state, reading)
  }
  if (stored.includes(name)) return
  const configured = config.jobs.map((j) => j.name)
  const error = unknownJob(name, configured, config.configPath)
  // Suggest among removed jobs too: they can be paused as well.
  throw new CronsError(error.code, error.message, { suggestions: suggestClosest(name, [...configured, ...stored]) })
}

function release(state: StateAccess, store: Store): Promise<void> {
  return state.release ? state.release(store) : store.close()
}

/**
 * Persist a job's paused flag. A running scheduler reads the flag inside each slot claim, so it
 * takes effect at the next slot without a restart. A configured job may have no row yet (no
 * scheduler has started since it was added), so one is made first; the caller has already checked
 * that a job the config does not list is at least known to the store.
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
