/**
 * Opening a store from a `state` location. The Postgres backend (and its `pg` driver) is loaded only
 * when a Postgres location is opened, so SQLite users pay nothing for it.
 */
import { CronsError } from '../errors.js'
import { parseStateLocation, type StateLocation, StateLocationError } from './location.js'
import {
  migrateSqliteFile,
  openSqliteFileToCopy,
  openSqliteStore,
  type SqliteStoreOptions,
  statOrUndefined,
} from './sqlite/index.js'
import type { StateSource, Store } from './types.js'

export { parseStateLocation, type StateLocation } from './location.js'
export { SCHEMA_VERSION } from './sqlite/index.js'
export * from './types.js'

export interface OpenStoreOptions extends SqliteStoreOptions {
  /** Postgres: most connections this process opens. @default 5 */
  poolSize?: number
}

/**
 * Open the store a location (or a `state` string, against the current directory) names, created and
 * migrated if needed; `readonly` (inspecting commands) never creates or migrates anything.
 */
export async function openStore(location: StateLocation | string, options: OpenStoreOptions = {}): Promise<Store> {
  const where = typeof location === 'string' ? parseState(location) : location
  switch (where.kind) {
    case 'memory':
      return openSqliteStore(':memory:', options)
    case 'file':
      return openSqliteStore(where.path, options)
    case 'postgres': {
      const { openPostgresStore } = await import('./postgres/index.js')
      return openPostgresStore(where, { ...options, poolSize: options.poolSize ?? where.poolSize })
    }
  }
}

/**
 * Open the store read-only only if state exists there: a missing or empty SQLite file, or a Postgres
 * database without the schema, is `undefined` (nothing has run); anything else opens, so what is wrong is said.
 */
export async function openExistingStore(location: StateLocation): Promise<Store | undefined> {
  switch (location.kind) {
    case 'memory':
      return openSqliteStore(':memory:', { readonly: true })
    case 'file':
      return holdsState(location.path) ? openSqliteStore(location.path, { readonly: true }) : undefined
    case 'postgres': {
      const { openPostgresStore } = await import('./postgres/index.js')
      return openPostgresStore(location, { readonly: true, ifExists: true, poolSize: location.poolSize })
    }
  }
}

/**
 * The state opened read-only only to be copied (`crons state backup`); `undefined` when none exists yet.
 * A state file may be of an older schema version, which no other read accepts: a copy before the upgrade.
 */
export async function openStateToCopy(location: StateLocation): Promise<StateSource | undefined> {
  if (location.kind !== 'file') return openExistingStore(location)
  return holdsState(location.path) ? openSqliteFileToCopy(location.path) : undefined
}

/** Whether a state file is there: a missing or empty one is none yet; a folder that cannot be entered is one line. */
function holdsState(path: string): boolean {
  const stats = statOrUndefined(path, path)
  return stats !== undefined && !(stats.size === 0 && stats.isFile())
}

function parseState(value: string): StateLocation {
  try {
    return parseStateLocation(value, process.cwd())
  } catch (error) {
    if (error instanceof StateLocationError) throw new CronsError('STATE_INVALID', error.message)
    throw error
  }
}

/** What `migrateState` did: `from` is the version found (0: created now). */
export interface MigrateResult {
  location: string
  schema: string | null
  from: number
  to: number
}

/** Create or migrate the state and nothing else (`crons state migrate`); safe while schedulers run. */
export async function migrateState(location: StateLocation): Promise<MigrateResult> {
  if (location.kind === 'postgres') {
    const { migratePostgres } = await import('./postgres/index.js')
    return migratePostgres(location)
  }
  const { location: shown, from, to } = migrateSqliteFile(location.kind === 'file' ? location.path : ':memory:')
  return { location: shown, schema: null, from, to }
}
