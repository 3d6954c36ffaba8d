/**
 * Which config the reading commands (`list-jobs`, `status`, `logs`, `state backup`) read a state
 * with. The rule, also in docs/cli.md: the jobs shown are always the state's own.
 *
 * - With a config whose state it is (the config's `state`, or the default beside it), the config
 *   adds schedules, zones and next runs; jobs the state knows and the config no longer lists are
 *   shown as removed.
 * - With a state given apart from the config (`--state` or `CRONS_STATE`) and no config found, the
 *   state is read alone: its jobs, their history and paused flags, no schedules.
 * - With a state given apart from a config that lists none of the jobs the state knows, the two
 *   are of different worlds: the state is read alone, as above, and a note on stderr says why. A
 *   config's jobs are never reported as the state's, nor the state's jobs as removed from it.
 */
import path from 'node:path'
import type { ResolvedConfig } from '../config/types.js'
import { isCronsError } from '../errors.js'
import type { Store } from '../store/types.js'
import { openStateForReading } from './state.js'

export interface Reading {
  config: ResolvedConfig
  /** Undefined when there is no state yet. */
  store: Store | undefined
  /** The jobs come from the state alone: `config` has none. */
  stateOnly: boolean
  /** Why the state is read alone, for stderr. */
  note: string | undefined
}

export interface ReadingOptions {
  flags: { config?: string; state?: string }
  env: NodeJS.ProcessEnv
  cwd: string
}

/** Load the config (or do without one, see above) and open its state read-only. */
export async function openForReading(load: () => Promise<ResolvedConfig>, options: ReadingOptions): Promise<Reading> {
  const { cwd } = options
  const loaded = await configOrStateAlone(load, options)
  if (loaded.stateOnly) {
    const store = await openStateForReading(loaded.config)
    return { ...loaded, store }
  }
  const { config } = loaded
  const state = options.flags.state ?? (options.env.CRONS_STATE || undefined)
  const store = await openStateForReading(config)
  const apart = config.sources.state === 'flag' || config.sources.state === 'env'
  if (store === undefined || !apart) return { config, store, stateOnly: false, note: undefined }
  const stored = (await store.listJobs()).map((job) => job.name)
  const shared = config.jobs.some((job) => stored.includes(job.name))
  if (stored.length === 0 || shared) return { config, store, stateOnly: false, note: undefined }
  const shown = config.configPath ? path.relative(cwd, config.configPath) || config.configPath : 'the config'
  // Not this state's config: nor is its fingerprint to compare with the state's schedulers.
  const { configHash: _, ...another } = config
  return {
    config: { ...another, jobs: [] },
    store,
    stateOnly: true,
    note: `${shown} lists none of the ${stored.length} job(s) in ${state}: reading the state alone (pass --config to read it with its own config)`,
  }
}

/**
 * The config, or, when none is found and a state is given (`--state`, `CRONS_STATE`), a config with
 * no jobs naming that state: for commands that need the state only (`crons cancel`).
 */
export async function configOrStateAlone(
  load: () => Promise<ResolvedConfig>,
  options: ReadingOptions,
): Promise<{ config: ResolvedConfig; stateOnly: boolean; note: string | undefined }> {
  const { flags, env, cwd } = options
  const state = flags.state ?? (env.CRONS_STATE || undefined)
  const configGiven = flags.config !== undefined || Boolean(env.CRONS_CONFIG)
  try {
    return { config: await load(), stateOnly: false, note: undefined }
  } catch (error) {
    if (!(isCronsError(error) && error.code === 'CONFIG_NOT_FOUND' && state !== undefined && !configGiven)) throw error
    const alone = await stateOnlyConfig(state, flags.state !== undefined ? 'flag' : 'env', cwd)
    return { config: alone, stateOnly: true, note: `no config file in ${cwd}: reading ${state} alone` }
  }
}

/** A config with no jobs, for reading a state file on its own. */
async function stateOnlyConfig(state: string, source: 'flag' | 'env', cwd: string): Promise<ResolvedConfig> {
  const { validateConfig } = await import('../config/validate.js')
  return validateConfig({ jobs: [] }, { file: 'state file', cwd, overrides: { state: { value: state, source } } })
}
