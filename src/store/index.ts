/**
 * Opening a store from a `state` location. The Postgres backend (and its `pg` driver) is loaded only
 * when a Postgres location is opened, so SQLite users pay nothing for it.
 */
import { CronsError } from '../errors.js'
import { parseStateLocation, type StateLocation, StateLocationError } from './location.js'
import { migrateSqliteFile, openSqliteStore, type SqliteStoreOptions, statOrUndefined } from './sqlite/index.js'
import type { Store } from './types.js'

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
    case 'file': {
      // A folder that cannot be entered, or a file in place of one: one line, as opening would say.
      const stats = statOrUndefined(location.path, location.path)
      if (stats === undefined || (stats.size === 0 && stats.isFile())) return undefined
      return openSqliteStore(location.path, { readonly: true })
    }
    case 'postgres': {
      const { openPostgresStore } = await import('./postgres/index.js')
      return openPostgresStore(location, { readonly: true, ifExists: true, poolSize: location.poolSize })
    }
  }
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
