/**
 * How commands open the state file. Inspecting commands open it read-only and never create it: a
 * state file that does not exist yet simply means nothing has run.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import type { ResolvedConfig } from '../config/types.js'
import { CronsError, isCronsError } from '../errors.js'
import type { Store } from '../store/types.js'

/** The store, read-only; `undefined` when no state file exists yet (or an empty one). */
export async function openStateForReading(config: ResolvedConfig): Promise<Store | undefined> {
  if (config.statePath !== ':memory:' && !holdsState(config.statePath)) return undefined
  const { openStore } = await import('../store/index.js')
  try {
    return await openStore(config.statePath, { readonly: true })
  } catch (error) {
    throw isCronsError(error) && error.code === 'STATE_INVALID' ? (emptyDatabase(config.statePath) ?? error) : error
  }
}

/** The store, read-write (created and migrated if needed). */
export async function openStateForWriting(config: ResolvedConfig): Promise<Store> {
  const { openStore } = await import('../store/index.js')
  return openStore(config.statePath)
}

/**
 * Whether anything can be read at `path`. A missing file, or an empty one (touched by hand, or just
 * created by a scheduler that has not written its first page), holds no state yet; anything else
 * (even a folder) is opened, so that what is wrong with it is said.
 */
function holdsState(path: string): boolean {
  const stats = statSync(path, { throwIfNoEntry: false })
  return stats !== undefined && (stats.size > 0 || !stats.isFile())
}

/**
 * A file that exists is never "no state file yet": a SQLite database with no schema at all (4 KB,
 * typically `crons.db` copied without its `-wal` file, where everything was) is said to be empty.
 */
function emptyDatabase(path: string): CronsError | undefined {
  const header = Buffer.alloc(100)
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    if (readSync(fd, header, 0, 100, 0) < 100) return undefined
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
  // Bytes 0-15: the SQLite magic; 60-63: the schema version (user_version); 68-71: the application id.
  const sqlite = header.subarray(0, 16).toString('latin1') === 'SQLite format 3\0'
  if (!sqlite || header.readUInt32BE(60) !== 0 || header.readUInt32BE(68) !== 0) return undefined
  const size = statSync(path).size
  return new CronsError(
    'STATE_INVALID',
    `${path}: exists (${size} bytes) but holds no crons state: an empty SQLite database (a copy of crons.db made without its -wal file can be empty)`,
    { suggestions: ['copy a state file with `crons state backup FILE`, which includes what is in its -wal file'] },
  )
}
