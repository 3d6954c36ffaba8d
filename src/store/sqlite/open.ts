/**
 * Opening a state file safely: every check that can refuse a file runs before anything is written (even
 * switching to WAL rewrites header bytes), so a bad path leaves no new file and a foreign file is never altered.
 */
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import nodePath from 'node:path'
import Database from 'better-sqlite3'
import { errorCode, type FailureContext, fromSqliteError, stateFailure } from './failures.js'
import { isOurs, migrate, probeSchema, SCHEMA_VERSION, type SchemaProbe } from './migrations.js'

export interface SqliteStoreOptions {
  /** Inspect commands: the file must exist and is never created, migrated or written. @default false */
  readonly?: boolean
  /** How long to wait for another process's write lock before failing with `STATE_LOCKED`. @default 5000 */
  busyTimeoutMs?: number
}

interface OpenOptions extends SqliteStoreOptions {
  /** Read-only: a crons file of an older schema version opens as it is, to be copied whole, not read. */
  olderVersion?: boolean
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1')
/** Header byte 18, the file format write version: 2 for a database in WAL mode. */
const WAL_VERSION_OFFSET = 18
const WAL_VERSION = 2

/** Root ignores permission bits: "no write bit for anyone" counts as read-only too, for every user alike. */
function isWritable(target: string, stats: fs.Stats): boolean {
  return (stats.mode & 0o222) !== 0 && canAccess(target, fs.constants.W_OK)
}

function canAccess(target: string, mode: number): boolean {
  try {
    fs.accessSync(target, mode)
    return true
  } catch {
    return false
  }
}

/** `target`'s stats, undefined if it is not there; any other failure is one line about `path`. */
export function statOrUndefined(target: string, path: string): fs.Stats | undefined {
  try {
    return fs.statSync(target)
  } catch (error) {
    const code = errorCode(error)
    if (code === 'ENOENT') return undefined
    if (code === 'ENOTDIR') throw stateFailure.notAFolder(path, nodePath.dirname(target))
    if (code === 'EACCES' || code === 'EPERM') throw stateFailure.unreadable(path, error)
    throw stateFailure.io(path, error instanceof Error ? error.message : String(error), error)
  }
}

function readHeader(target: string, path: string): Buffer {
  const header = Buffer.alloc(WAL_VERSION_OFFSET + 2)
  let fd: number | undefined
  try {
    fd = fs.openSync(target, 'r')
    const bytes = fs.readSync(fd, header, 0, header.length, 0)
    return header.subarray(0, bytes)
  } catch (error) {
    throw stateFailure.unreadable(path, error)
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

/** Checks that need no SQLite (folder, regular file, SQLite header, write access). Returns whether the file exists. */
function checkStateFile(path: string, readonly: boolean): boolean {
  if (path.trim() === '') throw stateFailure.emptyPath()
  const target = nodePath.resolve(path)
  const dir = nodePath.dirname(target)
  const stats = statOrUndefined(target, path)

  if (stats === undefined) {
    const dirStats = statOrUndefined(dir, path)
    if (dirStats === undefined) throw stateFailure.folderMissing(path, dir)
    if (!dirStats.isDirectory()) throw stateFailure.notAFolder(path, dir)
    if (readonly) throw stateFailure.missing(path)
    if (!isWritable(dir, dirStats)) throw stateFailure.readOnlyFile(path, `folder ${dir}`)
    return false
  }

  if (stats.isDirectory()) throw stateFailure.isFolder(path)
  if (!stats.isFile()) throw stateFailure.notAFile(path)
  // A zero-byte file is a valid empty database to SQLite (`touch crons.db`).
  const header = stats.size > 0 ? readHeader(target, path) : undefined
  if (header !== undefined && !header.subarray(0, SQLITE_HEADER.length).equals(SQLITE_HEADER)) {
    throw stateFailure.notSqlite(path)
  }
  if (readonly && header?.[WAL_VERSION_OFFSET] === WAL_VERSION && !fs.existsSync(`${target}-shm`)) {
    // SQLite reads a WAL file through its `-shm` index, created when no process has the file open.
    if (!canAccess(dir, fs.constants.W_OK | fs.constants.X_OK)) throw stateFailure.folderNeededToRead(path, dir)
    // The `-wal`/`-shm` it creates then are this user's, and only a process that may write the file can
    // remove them (`tidyAfterReadOnly`): left behind, they stop the file's owner writing it.
    // (better-sqlite3 takes no `file:...?immutable=1` URI, which would read it without them.)
    if (!canAccess(target, fs.constants.W_OK)) throw stateFailure.fileNeededToRead(path)
  }
  if (!readonly) {
    if (!isWritable(target, stats)) throw stateFailure.readOnlyFile(path, target)
    // WAL mode creates `-wal` and `-shm` files next to the state file.
    if (!isWritable(dir, fs.statSync(dir))) throw stateFailure.readOnlyFile(path, `folder ${dir}`)
    const theirs = [`${target}-wal`, `${target}-shm`].filter((file) => {
      const companion = statOrUndefined(file, path)
      return companion !== undefined && !isWritable(file, companion)
    })
    if (theirs.length > 0) throw stateFailure.companionsNotWritable(path, theirs)
  }
  return true
}

/** `oldest`: the lowest schema version accepted as it is (a read-write open upgrades any older one: 0). */
function assertUsable(path: string, probe: SchemaProbe, oldest: number): void {
  if (!isOurs(probe)) {
    if (probe.tables.length > 0) throw stateFailure.foreignTables(path, probe.tables)
    const what =
      probe.applicationId === 0
        ? `user_version ${probe.version}`
        : `application id 0x${probe.applicationId.toString(16)}`
    throw stateFailure.foreignApplication(path, what)
  }
  if (probe.version > SCHEMA_VERSION) throw stateFailure.tooNew(path, probe.version)
  if (probe.version < oldest) {
    if (probe.version === 0) throw stateFailure.missing(path)
    throw stateFailure.needsUpgrade(path, probe.version)
  }
}

function companionsExist(path: string): boolean {
  return fs.existsSync(`${path}-wal`) || fs.existsSync(`${path}-shm`)
}

/**
 * A read-only connection cannot checkpoint, so it leaves the `-wal`/`-shm` it created. If they were not
 * there before, a brief read-write connection removes them as a last close does; SQLite does so only
 * under an exclusive lock, so a scheduler that opened the file meanwhile keeps them.
 */
export function tidyAfterReadOnly(path: string, hadCompanions: boolean): void {
  if (hadCompanions || path === ':memory:' || !companionsExist(path)) return
  try {
    const db = new Database(path, { fileMustExist: true, timeout: 0 })
    try {
      db.pragma('schema_version')
    } finally {
      db.close()
    }
  } catch {
    // Only tidying: a busy or unwritable file keeps its companions, which is harmless.
  }
}

export interface OpenedDatabase {
  db: Database.Database
  context: FailureContext
  /** The version the file had before this open migrated it (0: new or empty). */
  foundVersion: number
  /** For read-only opens: whether `-wal`/`-shm` existed before, see `tidyAfterReadOnly`. */
  hadCompanions: boolean
}

/** A name beside `target` that no other process uses, for a file written whole and then moved or linked into place. */
export function temporaryBeside(target: string): string {
  const name = `.${nodePath.basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`
  return nodePath.join(nodePath.dirname(target), name)
}

/**
 * A missing state file is created whole: written under a name of its own beside it (schema, then WAL,
 * then closed) and linked into place, which fails if another process got there first. A reader sees
 * no file or all of it, never a database without its schema (`logs --follow` started before the
 * scheduler read that as an empty copy), and processes creating it at once never switch one file to
 * WAL together, which can leave each waiting out the other's lock. Where the file system has no hard
 * links, the file is created in place as any other open would.
 */
function createWhole(path: string, context: FailureContext): 'created' | 'taken' | 'in place' {
  const temp = temporaryBeside(path)
  try {
    const db = new Database(temp, { timeout: context.busyTimeoutMs })
    try {
      db.pragma('journal_mode = WAL')
      migrate(db)
    } finally {
      db.close()
    }
    fs.linkSync(temp, path)
    return 'created'
  } catch (error) {
    // A link that points nowhere yet is there too: the file is created where it points, in place.
    if (errorCode(error) === 'EEXIST') return fs.existsSync(path) ? 'taken' : 'in place'
    if (errorCode(error)?.startsWith('SQLITE') === false) return 'in place'
    throw fromSqliteError(error, context)
  } finally {
    for (const file of [temp, `${temp}-wal`, `${temp}-shm`]) fs.rmSync(file, { force: true })
  }
}

/** Refuse a file that is not ours, or too new, through a read-only connection of its own, then close it. */
function lookReadOnly(path: string, context: FailureContext, hadCompanions: boolean): void {
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true, timeout: context.busyTimeoutMs })
    try {
      assertUsable(path, probeSchema(db), 0)
    } finally {
      db.close()
    }
  } catch (error) {
    tidyAfterReadOnly(path, hadCompanions)
    throw fromSqliteError(error, context)
  }
}

/** Check, open, refuse or migrate. On any refusal the file is left byte-for-byte as it was. */
export function openDatabase(path: string, options: OpenOptions = {}): OpenedDatabase {
  const memory = path === ':memory:'
  // A private in-memory store has nothing to protect from writes.
  const readonly = options.readonly === true && !memory
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000
  const context = { path, busyTimeoutMs, readonly }
  let exists = memory ? false : checkStateFile(path, readonly)
  let created = false
  if (!exists && !readonly && !memory) {
    const made = createWhole(path, context)
    created = made === 'created'
    exists = made !== 'in place'
  }
  const hadCompanions = exists && companionsExist(path)
  // Refused through a connection that cannot checkpoint: closing a read-write one folds a -wal into the file.
  if (exists && !created && !readonly && !memory) lookReadOnly(path, context, hadCompanions)

  let db: Database.Database
  try {
    db = new Database(path, { readonly, fileMustExist: readonly || exists, timeout: busyTimeoutMs })
  } catch (error) {
    throw fromSqliteError(error, context)
  }
  try {
    const found = probeSchema(db)
    // Read-only, nothing is upgraded: an older file is refused, unless it is only to be copied.
    assertUsable(path, found, !readonly ? 0 : options.olderVersion ? 1 : SCHEMA_VERSION)
    if (readonly) return { db, context, foundVersion: found.version, hadCompanions }
    if (!memory && db.pragma('journal_mode', { simple: true }) !== 'wal') {
      // WAL lets inspect commands read while a scheduler writes; it needs a brief exclusive lock.
      db.pragma('journal_mode = WAL')
    }
    // NORMAL is durable against process crashes in WAL mode and avoids an fsync per claim.
    db.pragma('synchronous = NORMAL')
    const probe = migrate(db)
    // Another process may have initialised or replaced the file between our first look and the lock.
    // Once usable, the file is at SCHEMA_VERSION: migrate() brought any older version of ours up to it.
    assertUsable(path, probe, 0)
    return { db, context, foundVersion: created ? 0 : probe.foundVersion, hadCompanions }
  } catch (error) {
    db.close()
    if (readonly) tidyAfterReadOnly(path, hadCompanions)
    throw fromSqliteError(error, context)
  }
}
