/**
 * Which config the reading commands read a state with (docs/cli.md): the jobs shown are always the
 * state's own. A state given apart (`--state`, `CRONS_STATE`) with no config, or with a config that
 * lists none of its jobs, is read alone, and a note on stderr says why.
 */
import path from 'node:path'
import type { ResolvedConfig } from '../config/types.js'
import { isCronsError } from '../errors.js'
import type { Store } from '../store/types.js'
import { openStateForReading } from './state.js'

export interface Reading {
  config: ResolvedConfig
  store: Store | undefined
  /** The jobs come from the state alone: `config` has none. */
  stateOnly: boolean
  note: string | undefined
}

export interface ReadingOptions {
  flags: { config?: string; state?: string }
  env: NodeJS.ProcessEnv
  cwd: string
}

/** The config (or none, see above) and its state, read-only. */
export async function openForReading(load: () => Promise<ResolvedConfig>, options: ReadingOptions): Promise<Reading> {
  const loaded = await configOrStateAlone(load, options)
  const store = await openStateForReading(loaded.config)
  if (loaded.stateOnly) return { ...loaded, store }
  const { config } = loaded
  const apart = config.sources.state === 'flag' || config.sources.state === 'env'
  const stored = store && apart ? (await store.listJobs()).map((job) => job.name) : []
  const shared = config.jobs.some((job) => stored.includes(job.name))
  if (stored.length === 0 || shared) return { config, store, stateOnly: false, note: undefined }
  const state = options.flags.state ?? (options.env.CRONS_STATE || undefined)
  const shown = config.configPath ? path.relative(options.cwd, config.configPath) || config.configPath : 'the config'
  // Not this state's config: nor is its fingerprint to compare with the state's schedulers.
  const { configHash: _, ...another } = config
  return {
    config: { ...another, jobs: [] },
    store,
    stateOnly: true,
    note: `${shown} lists none of the ${stored.length} job(s) in ${state}: reading the state alone (pass --config to read it with its own config)`,
  }
}

/** The config, or when none is found and a state is given, a config with no jobs naming that state. */
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

async function stateOnlyConfig(state: string, source: 'flag' | 'env', cwd: string): Promise<ResolvedConfig> {
  const { validateConfig } = await import('../config/validate.js')
  return validateConfig({ jobs: [] }, { file: 'state file', cwd, overrides: { state: { value: state, source } } })
}
