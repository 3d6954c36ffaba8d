/** How commands open the state: inspecting ones read-only, never creating it (none yet means nothing has run). */
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import type { ResolvedConfig } from '../config/types.js'
import type { StateAccess } from '../core/pause.js'
import { CronsError, isCronsError } from '../errors.js'
import type { StateSource, Store } from '../store/types.js'

/** The store, read-only; `undefined` when no state exists there yet. */
export async function openStateForReading(config: ResolvedConfig): Promise<Store | undefined> {
  const { openExistingStore } = await import('../store/index.js')
  return emptySaidSo(config, () => openExistingStore(config.state))
}

/** The state, read-only, to be copied as it is (an older schema version too); `undefined` when none exists yet. */
export async function openStateToCopy(config: ResolvedConfig): Promise<StateSource | undefined> {
  const { openStateToCopy } = await import('../store/index.js')
  return emptySaidSo(config, () => openStateToCopy(config.state))
}

/** `use` the state; a refusal of a state file that is an empty SQLite database says that it is empty. */
async function emptySaidSo<T>(config: ResolvedConfig, use: () => Promise<T>): Promise<T> {
  try {
    return await use()
  } catch (error) {
    if (config.state.kind !== 'file' || !isCronsError(error) || error.code !== 'STATE_INVALID') throw error
    throw emptyDatabase(config.state.path) ?? error
  }
}

/** The state the config names: read-only to check a name or a run, read-write (created if needed) to change it. */
export function stateAccess(config: ResolvedConfig): StateAccess {
  return {
    read: () => openStateForReading(config),
    write: async () => (await import('../store/index.js')).openStore(config.state),
  }
}

/** A SQLite file with no schema at all (typically copied without its -wal file) is empty, not missing. */
function emptyDatabase(path: string): CronsError | undefined {
  const header = Buffer.alloc(100)
  let fd: number | undefined
  try {
    // A FIFO or a device would block the read (a FIFO until a writer comes): only a file can be empty.
    if (!statSync(path).isFile()) return undefined
    fd = openSync(path, 'r')
    if (readSync(fd, header, 0, 100, 0) < 100) return undefined
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
  // Bytes 0-15: the SQLite magic; 40-43: the schema cookie, 0 until a first table is made; 60-63: the
  // schema version (user_version); 68-71: the application id. Another program's tables keep the store's refusal.
  const sqlite = header.subarray(0, 16).toString('latin1') === 'SQLite format 3\0'
  if (!sqlite || [40, 60, 68].some((offset) => header.readUInt32BE(offset) !== 0)) return undefined
  const size = statSync(path).size
  return new CronsError(
    'STATE_INVALID',
    `${path}: exists (${size} bytes) but holds no crons state: an empty SQLite database (a copy of crons.db made without its -wal file can be empty)`,
    { suggestions: ['copy a state file with `crons state backup FILE`, which includes what is in its -wal file'] },
  )
}
