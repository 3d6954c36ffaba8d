/** The SQLite state store: one file (or `:memory:`) shared by every scheduler process on a machine. */
import type { Store } from '../types.js'
import { SCHEMA_VERSION } from './migrations.js'
import { openDatabase, type SqliteStoreOptions } from './open.js'
import { SqliteStore } from './store.js'

export { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from './migrations.js'
export type { SqliteStoreOptions } from './open.js'
export { statOrUndefined } from './open.js'

/**
 * Open (creating and migrating if needed) a SQLite state file. Refuses, with a one-line `CronsError`
 * and without writing anything, a path whose folder is missing, a file that is not a crons state file,
 * read-only, locked, corrupt or from a newer crons. Async only to match the `Store` contract.
 */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<Store> {
  return new SqliteStore(openDatabase(path, options))
}

/** Create or migrate a state file and close it (`crons state migrate`): the version found (0: none yet) and now. */
export function migrateSqliteFile(path: string): { location: string; from: number; to: number } {
  const { db, context, foundVersion } = openDatabase(path)
  db.close()
  return { location: context.path, from: foundVersion, to: SCHEMA_VERSION }
}
