/** The Postgres state store, shared by schedulers on many hosts; loaded with `pg` only when a location needs it. */
import { CronsError, StateNeedsUpgrade } from '../../errors.js'
import { describeLocation } from '../location.js'
import type { Store } from '../types.js'
import { Connections, fromPgError, loadDriver, type PostgresLocation, targetOf } from './driver.js'
import { migrate, PG_SCHEMA_VERSION, refuseNewer, schemaVersion } from './migrations.js'
import { PostgresStore } from './store.js'

export { MIGRATIONS, PG_SCHEMA_VERSION } from './migrations.js'

export interface PostgresStoreOptions {
  /** Most connections this process opens; an idle scheduler uses one. @default 5 */
  poolSize?: number
  /** Never create or migrate the schema (inspecting commands). */
  readonly?: boolean
  /** With `readonly`: `undefined` instead of an error when the schema was never created. */
  ifExists?: boolean
}

/** Longer than a heartbeat interval: an idle scheduler keeps its one connection instead of connecting anew. */
const IDLE_TIMEOUT_MS = 30_000
/** Defaults of `connect_timeout_ms`, `query_timeout_ms`: a silent network would leave a query hanging for minutes. */
const CONNECT_TIMEOUT_MS = 10_000
const QUERY_TIMEOUT_MS = 15_000
/** `bigint` (int8): epoch milliseconds and ids fit a double. */
const INT8_OID = 20

export async function openPostgresStore(
  location: PostgresLocation,
  options: PostgresStoreOptions & { ifExists: true },
): Promise<Store | undefined>
export async function openPostgresStore(location: PostgresLocation, options?: PostgresStoreOptions): Promise<Store>
export async function openPostgresStore(
  location: PostgresLocation,
  options: PostgresStoreOptions = {},
): Promise<Store | undefined> {
  const target = targetOf(location)
  const shown = describeLocation(location)
  const connections = await createPool(location, options)
  const { pool } = connections
  try {
    if (!options.readonly) {
      await migrate(connections, target, shown)
      return new PostgresStore(connections, target, shown, PG_SCHEMA_VERSION)
    }
    const version = await schemaVersion(pool, target.schema).catch((error: unknown) => {
      throw fromPgError(error, target, 'to read the schema version')
    })
    refuseNewer(version, target, shown)
    if (version === 0) {
      if (options.ifExists) {
        await pool.end()
        return undefined
      }
      throw new CronsError('STATE_INVALID', `${shown}: schema "${target.schema}" holds no crons state yet`, {
        suggestions: ['Start a scheduler, or run `crons state migrate`, to create it'],
      })
    }
    if (version < PG_SCHEMA_VERSION) {
      throw new StateNeedsUpgrade(
        `${shown}: schema "${target.schema}" is at version ${version}, older than this crons (${PG_SCHEMA_VERSION})`,
        { suggestions: ['Run `crons state migrate` (or start a scheduler) to upgrade it'] },
      )
    }
    return new PostgresStore(connections, target, shown, version)
  } catch (error) {
    await pool.end().catch(() => undefined)
    throw fromPgError(error, target)
  }
}

/** `crons state migrate`: the schema brought to this build's version; `from` 0 means it was created now. */
export async function migratePostgres(
  location: PostgresLocation,
): Promise<{ location: string; schema: string; from: number; to: number }> {
  const target = targetOf(location)
  const shown = describeLocation(location)
  const connections = await createPool(location, { poolSize: 1 })
  try {
    const from = await migrate(connections, target, shown)
    return { location: shown, schema: target.schema, from, to: PG_SCHEMA_VERSION }
  } finally {
    await connections.pool.end().catch(() => undefined)
  }
}

async function createPool(location: PostgresLocation, options: PostgresStoreOptions): Promise<Connections> {
  const driver = await loadDriver(location)
  const pool = new driver.Pool({
    connectionString: location.url,
    max: Math.max(1, Math.floor(options.poolSize ?? 5)),
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
    connectionTimeoutMillis: location.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    query_timeout: location.queryTimeoutMs ?? QUERY_TIMEOUT_MS,
    keepAlive: true,
    application_name: 'crons',
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID && format !== 'binary'
          ? (value: string) => Number(value)
          : driver.types.getTypeParser(oid, format)) as typeof driver.types.getTypeParser,
    },
  })
  // An idle connection the server dropped is only discarded; the next query's failure, if any, is reported there.
  pool.on('error', () => undefined)
  return new Connections(pool)
}
