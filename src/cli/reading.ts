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

type GlobalFlags = { config?: string; state?: string }

/** The config (or none, see above) and its state, read-only. */
export async function openForReading(load: () => Promise<ResolvedConfig>, flags: GlobalFlags): Promise<Reading> {
  const cwd = process.cwd()
  const loaded = await configOrStateAlone(load, flags)
  const store = await openStateForReading(loaded.config)
  if (loaded.stateOnly) return { ...loaded, store }
  const { config } = loaded
  const apart = config.sources.state === 'flag' || config.sources.state === 'env'
  const stored = store && apart ? (await store.listJobs()).map((job) => job.name) : []
  const shared = config.jobs.some((job) => stored.includes(job.name))
  if (stored.length === 0 || shared) return { config, store, stateOnly: false, note: undefined }
  const state = flags.state ?? (process.env.CRONS_STATE || undefined)
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

/** The config, or when none is found and a state is given, a config with no jobs naming that state. */
export async function configOrStateAlone(
  load: () => Promise<ResolvedConfig>,
  flags: GlobalFlags,
): Promise<{ config: ResolvedConfig; stateOnly: boolean; note: string | undefined }> {
  const { env } = process
  const cwd = process.cwd()
  const state = flags.state ?? (env.CRONS_STATE || undefined)
  const configGiven = flags.config !== undefined || Boolean(env.CRONS_CONFIG)
  try {
    return { config: await load(), stateOnly: false, note: undefined }
  } catch (error) {
    if (!(isCronsError(error) && error.code === 'CONFIG_NOT_FOUND' && state !== undefined && !configGiven)) throw error
    const { validateConfig } = await import('../config/validate.js')
    const overrides = { state: { value: state, source: flags.state !== undefined ? 'flag' : 'env' } as const }
    const alone = await validateConfig({ jobs: [] }, { file: 'state file', cwd, overrides })
    return { config: alone, stateOnly: true, note: `no config file in ${cwd}: reading ${state} alone` }
  }
}
