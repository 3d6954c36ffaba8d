/** Everything that can go wrong with a state file, as a one-line `CronsError` naming the file. */
import { CronsError, StateNeedsUpgrade } from '../../errors.js'
import { SCHEMA_VERSION } from './migrations.js'

export const stateFailure = {
  emptyPath: () => new CronsError('STATE_INVALID', 'state file path is empty'),
  folderMissing: (path: string, dir: string) =>
    new CronsError('STATE_INVALID', `${path}: folder ${dir} does not exist`, {
      suggestions: [`Create it with: mkdir -p ${dir}`],
    }),
  notAFolder: (path: string, dir: string) => new CronsError('STATE_INVALID', `${path}: ${dir} is not a folder`),
  isFolder: (path: string) =>
    new CronsError('STATE_INVALID', `${path}: is a folder, not a state file`, {
      suggestions: ['Point the state option at a file inside it, for example crons.db'],
    }),
  notAFile: (path: string) => new CronsError('STATE_INVALID', `${path}: not a regular file, cannot hold crons state`),
  unreadable: (path: string, cause: unknown) =>
    new CronsError('STATE_INVALID', `${path}: cannot read state file (permission denied)`, { cause }),
  missing: (path: string) =>
    new CronsError('STATE_INVALID', `${path}: no state file yet (nothing has run with this state file)`, {
      suggestions: ['Start the scheduler once to create it'],
    }),
  notSqlite: (path: string) =>
    new CronsError('STATE_INVALID', `${path}: not a crons state file (file is not a SQLite database)`, {
      suggestions: ['Point the state option at a new file name, or remove this file if it is not needed'],
    }),
  foreignApplication: (path: string, what: string) =>
    new CronsError(
      'STATE_INVALID',
      `${path}: not a crons state file (SQLite database of another application, ${what})`,
    ),
  foreignTables: (path: string, tables: readonly string[]) => {
    const shown = tables.length > 5 ? `${tables.slice(0, 5).join(', ')}, ...` : tables.join(', ')
    return new CronsError(
      'STATE_INVALID',
      `${path}: not a crons state file (SQLite database with other tables: ${shown}); refusing to add crons tables to it`,
      { suggestions: ['Use a separate file for crons state, for example crons.db'] },
    )
  },
  tooNew: (path: string, version: number) =>
    new CronsError(
      'STATE_VERSION',
      `${path}: state file has schema version ${version}, this crons understands up to ${SCHEMA_VERSION} (upgrade crons)`,
    ),
  needsUpgrade: (path: string, version: number) =>
    new StateNeedsUpgrade(
      `${path}: state file has schema version ${version}, this crons needs ${SCHEMA_VERSION} and cannot upgrade it read-only`,
      { suggestions: ['Run `crons state migrate` (or start a scheduler) to upgrade it, then retry'] },
    ),
  readOnlyFile: (path: string, target: string) =>
    new CronsError('STATE_READONLY', `${path}: state file is read-only (need write access to ${target})`),
  folderNeededToRead: (path: string, dir: string) =>
    new CronsError(
      'STATE_READONLY',
      `${path}: cannot read the state file without write access to its folder ${dir} (SQLite creates its -shm index there while no scheduler has the file open)`,
      { suggestions: ['Run this as a user who can write to that folder, or while a scheduler is running on the file'] },
    ),
  fileNeededToRead: (path: string) =>
    new CronsError(
      'STATE_READONLY',
      `${path}: cannot read the state file without write access to it while no scheduler has it open (SQLite would leave -wal and -shm files beside it, owned by this user, that stop its owner writing it)`,
      { suggestions: ['Run this as a user who can write the state file, or while a scheduler is running on it'] },
    ),
  companionsNotWritable: (path: string, files: readonly string[]) =>
    new CronsError(
      'STATE_READONLY',
      `${path}: cannot write the state file: this user cannot write ${files.join(' and ')} beside it (SQLite's -wal and -shm files, left by another user)`,
      { suggestions: ["Give them to the state file's owner (chown), then retry"] },
    ),
  openedReadOnly: (path: string) =>
    new CronsError('STATE_READONLY', `${path}: state file was opened read-only, cannot change it`),
  locked: (path: string, busyTimeoutMs: number, cause?: unknown) =>
    new CronsError(
      'STATE_LOCKED',
      `${path}: state file is locked by another program (waited ${Math.round(busyTimeoutMs) / 1000}s)`,
      { cause, suggestions: ['Close the program holding it (a SQLite browser with an open transaction?) and retry'] },
    ),
  corrupt: (path: string, what: string, cause: unknown) =>
    new CronsError('STATE_INVALID', `${path}: state file is corrupt (${what})`, {
      cause,
      suggestions: ['Restore it from a backup, or move it away to start with an empty state file'],
    }),
  io: (path: string, what: string, cause: unknown) =>
    new CronsError('STATE_INVALID', `${path}: cannot use state file (${what})`, { cause }),
}

/** The `code` of a better-sqlite3 `SqliteError` or a Node errno error. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}

export interface FailureContext {
  path: string
  busyTimeoutMs: number
  readonly: boolean
}

/** A driver error as a `CronsError`; a bug of ours (constraint, SQL) is returned unchanged, with its stack. */
export function fromSqliteError(error: unknown, context: FailureContext): unknown {
  if (error instanceof CronsError) return error
  const code = errorCode(error)
  if (code === undefined) return error
  const { path } = context
  const message = error instanceof Error ? error.message : String(error)
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return stateFailure.locked(path, context.busyTimeoutMs, error)
  }
  if (code.startsWith('SQLITE_READONLY')) {
    return context.readonly
      ? stateFailure.openedReadOnly(path)
      : stateFailure.readOnlyFile(path, `${path} and its folder`)
  }
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) return stateFailure.corrupt(path, message, error)
  if (code === 'SQLITE_FULL') return stateFailure.io(path, 'disk is full', error)
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN') || code === 'SQLITE_PERM') {
    return stateFailure.io(path, `${message}, ${code}`, error)
  }
  return error
}
