/**
 * Stores: the `Store` contract and the backends behind it. Callers open a store from the configured
 * `state` string and never import a driver themselves, so a Postgres backend can slot in here.
 */
import { CronsError } from '../errors.js'
import { openSqliteStore, type SqliteStoreOptions } from './sqlite/index.js'
import type { Store } from './types.js'

export { openSqliteStore, SCHEMA_VERSION, type SqliteStoreOptions } from './sqlite/index.js'
export * from './types.js'

export type OpenStoreOptions = SqliteStoreOptions

/** Open the store a `state` setting names: a SQLite file path or `':memory:'`. */
export async function openStore(path: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (/^postgres(ql)?:\/\//i.test(path)) {
    throw new CronsError(
      'STATE_INVALID',
      `${path.replace(/\/\/[^@/]*@/, '//***@')}: Postgres state is not supported yet`,
      {
        suggestions: ['Use a SQLite file path such as ./crons.db'],
      },
    )
  }
  return openSqliteStore(path, options)
}
