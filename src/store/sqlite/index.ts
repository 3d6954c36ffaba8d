/** The SQLite state store: one file (or `:memory:`) shared by every scheduler process on a machine. */
import nodePath from 'node:path'
import type { StateSource, Store } from '../types.js'
import { backupDatabase, refuseOwnFile } from './backup.js'
import { SCHEMA_VERSION } from './migrations.js'
import { openDatabase, type SqliteStoreOptions, tidyAfterReadOnly } from './open.js'
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

/**
 * A state file opened read-only only to be copied as it is (`crons state backup`): of this schema
 * version or an older one, so that a copy can be made before the upgrade. Never migrated or written.
 */
export function openSqliteFileToCopy(path: string): StateSource {
  const { db, hadCompanions } = openDatabase(path, { readonly: true, olderVersion: true })
  return {
    location: path,
    async backup(file, options = {}) {
      // Over the state's own files, by whatever path, the copy would damage what schedulers have open.
      refuseOwnFile(nodePath.resolve(path), file)
      return backupDatabase(db, path, file, options.replace === true)
    },
    async close() {
      db.close()
      tidyAfterReadOnly(path, hadCompanions)
    },
  }
}

/** Create or migrate a state file and close it (`crons state migrate`): the version found (0: none yet) and now. */
export function migrateSqliteFile(path: string): { location: string; from: number; to: number } {
  const { db, context, foundVersion } = openDatabase(path)
  db.close()
  return { location: context.path, from: foundVersion, to: SCHEMA_VERSION }
}
