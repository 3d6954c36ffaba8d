/**
 * The Postgres state store: schedulers on any number of hosts sharing one schema. Loaded (with the
 * `pg` driver) only when a Postgres location is opened.
 */
import type pg from 'pg'
import { CronsError } from '../../errors.js'
import { describeLocation } from '../location.js'
import type { Store } from '../types.js'
import {
  checkOut,
  fromPgError,
  loadDriver,
  type PgModule,
  type PgTarget,
  type PostgresLocation,
  targetOf,
} from './driver.js'
import { migrate, PG_SCHEMA_VERSION, refuseNewer, schemaVersion } from './migrations.js'
import type { Queryable } from './sql.js'
import { PostgresStore } from './store.js'

export { MIGRATIONS, PG_SCHEMA_VERSION } from './migrations.js'
export { PostgresStore } from './store.js'

export interface PostgresStoreOptions {
  /** Most connections this process opens; an idle scheduler uses one. @default 5 */
  poolSize?: number
  /** Never create or migrate the schema (inspecting commands). */
  readonly?: boolean
  /** With `readonly`: `undefined` instead of an error when the schema was never created. */
  ifExists?: boolean
}

/**
 * Connections unused this long are closed. Longer than a heartbeat interval, so an idle scheduler
 * keeps the one connection its heartbeat uses instead of connecting anew each time.
 */
const IDLE_TIMEOUT_MS = 30_000
/**
 * A new connection not ready this long fails (as does waiting this long for a free one): a server
 * behind a network that drops packets silently never answers the connect. `connect_timeout_ms` in the
 * URL changes it.
 */
const CONNECT_TIMEOUT_MS = 10_000
/**
 * A statement without an answer this long fails (and its connection is dropped): a network that
 * silently drops packets would otherwise leave it, and the heartbeat or claim waiting on it, hanging
 * until the kernel gives up on the socket, many minutes later. Every statement of the store is short.
 * `query_timeout_ms` in the URL changes it.
 */
const QUERY_TIMEOUT_MS = 15_000
/** Postgres `bigint` (int8) and `oid`s the store reads: epoch milliseconds and ids fit a double. */
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
  const driver = await loadDriver(location)
  const target = targetOf(location)
  const shown = describeLocation(location)
  const pool = createPool(driver, location, options)
  try {
    let version: number
    if (options.readonly) {
      version = await readVersion(pool, target, shown)
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
        throw new CronsError(
          'STATE_VERSION',
          `${shown}: schema "${target.schema}" is at version ${version}, older than this crons (${PG_SCHEMA_VERSION})`,
          { suggestions: ['Run `crons state migrate` (or start a scheduler) to upgrade it'] },
        )
      }
    } else {
      await migrate(() => connection(pool), target, shown)
      version = PG_SCHEMA_VERSION
    }
    return new PostgresStore(pool, target, shown, version)
  } catch (error) {
    await pool.end().catch(() => undefined)
    throw fromPgError(error, target)
  }
}

/**
 * Bring the schema to this build's version and report what was there before (`crons state
 * migrate`): `from` 0 means it was created now.
 */
export async function migratePostgres(
  location: PostgresLocation,
): Promise<{ location: string; schema: string; from: number; to: number }> {
  const driver = await loadDriver(location)
  const target = targetOf(location)
  const shown = describeLocation(location)
  const pool = createPool(driver, location, { poolSize: 1 })
  try {
    const from = await migrate(() => connection(pool), target, shown)
    return { location: shown, schema: target.schema, from, to: PG_SCHEMA_VERSION }
  } finally {
    await pool.end().catch(() => undefined)
  }
}

/** A checked-out connection in the shape `migrate` takes. */
async function connection(pool: pg.Pool): Promise<Queryable & { release(): void }> {
  const { client, release } = await checkOut(pool)
  return { query: client.query.bind(client) as Queryable['query'], release: () => release() }
}

async function readVersion(pool: pg.Pool, target: PgTarget, shown: string): Promise<number> {
  let version: number
  try {
    version = await schemaVersion(pool, target.schema)
  } catch (error) {
    throw fromPgError(error, target, 'to read the schema version')
  }
  refuseNewer(version, target, shown)
  return version
}

function createPool(driver: PgModule, location: PostgresLocation, options: PostgresStoreOptions): pg.Pool {
  const pool = new driver.Pool({
    connectionString: location.url,
    max: Math.max(1, Math.floor(options.poolSize ?? 5)),
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
    connectionTimeoutMillis: location.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    query_timeout: location.queryTimeoutMs ?? QUERY_TIMEOUT_MS,
    // Dead peers of idle connections are found by the operating system, not only by the next query.
    keepAlive: true,
    application_name: 'crons',
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID && format !== 'binary'
          ? (value: string) => Number(value)
          : driver.types.getTypeParser(oid, format)) as typeof driver.types.getTypeParser,
    },
  })
  // An idle connection the server dropped (a restart, a network cut) is only discarded; the next
  // query opens a new one, and its failure, if any, is reported where it happens.
  pool.on('error', () => undefined)
  return pool
}
