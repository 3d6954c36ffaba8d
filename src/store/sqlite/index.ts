/**
 * The SQLite state store: one file (or `:memory:`) shared by every scheduler process on a machine.
 */
import type { Store } from '../types.js'
import { DEFAULT_BUSY_TIMEOUT_MS, openDatabase, type SqliteStoreOptions } from './open.js'
import { SqliteStore } from './store.js'

export { interruptedMessage } from '../messages.js'
export { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from './migrations.js'
export { DEFAULT_BUSY_TIMEOUT_MS, type SqliteStoreOptions } from './open.js'

/**
 * Open (creating and migrating if needed) a SQLite state file. Refuses, with a one-line
 * `CronsError` and without writing anything, a path whose folder is missing, a file that is not a
 * crons state file, read-only, locked, corrupt or from a newer crons.
 *
 * Async only to match the `Store` contract; the work is synchronous.
 */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<Store> {
  const opened = openDatabase(path, options)
  const readonly = options.readonly === true && path !== ':memory:'
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS
  return new SqliteStore(opened, { path, busyTimeoutMs, readonly })
}
