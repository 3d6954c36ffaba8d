/** A consistent copy of a state file while schedulers write to it (docs/storage.md: "Backup"). */
import fs from 'node:fs'
import nodePath from 'node:path'
import type Database from 'better-sqlite3'
import { CronsError, quote } from '../../errors.js'
import type { StateBackup } from '../types.js'
import { temporaryBeside } from './open.js'

/** SQLite's files for a database `crons.db`: itself, then the ones it finds by name beside it. */
const OWN_SUFFIXES = ['', '-wal', '-shm', '-journal'] as const

function realPath(file: string): string | undefined {
  try {
    return fs.realpathSync(file)
  } catch {
    return undefined
  }
}

/** `file` with its folder's symlinks resolved (its own name kept as given), or just absolute. */
function realName(file: string): string {
  const absolute = nodePath.resolve(file)
  const folder = realPath(nodePath.dirname(absolute))
  return folder === undefined ? absolute : nodePath.join(folder, nodePath.basename(absolute))
}

/**
 * Which of the state's own files `file` is, by identity rather than spelling (a symlinked folder, a
 * hard link or a symlink name the same file): `''` for the state file, else `-wal`, `-shm` or
 * `-journal`; undefined when it is none of them. Writing over any of them, or removing the `-wal` and
 * `-shm` beside it, would damage the state that schedulers have open.
 */
function stateOwnFile(statePath: string, file: string): (typeof OWN_SUFFIXES)[number] | undefined {
  if (statePath === ':memory:') return undefined
  // SQLite follows a symlinked state file: its -wal and -shm are beside the file linked to.
  const state = realPath(statePath) ?? realName(statePath)
  const target = realName(file)
  const there = fs.statSync(target, { throwIfNoEntry: false })
  return OWN_SUFFIXES.find((suffix) => {
    const own = `${state}${suffix}`
    if (own === target) return true
    const stat = there === undefined ? undefined : fs.statSync(own, { throwIfNoEntry: false })
    return stat !== undefined && stat.dev === there?.dev && stat.ino === there.ino
  })
}

/** Refuse `file` (as given) when it is the state at `statePath` or one of its own files, by any path. */
export function refuseOwnFile(statePath: string, file: string): void {
  const own = stateOwnFile(statePath, file)
  if (own === undefined) return
  const which = own === '' ? 'the state file itself' : `the state file's own ${own} file`
  throw new CronsError('FLAG_INVALID', `${quote(file)} is ${which} (expected another file)`)
}

/** Written beside `file` under a temporary name and renamed into place: a failed backup leaves nothing behind. */
export async function backupDatabase(
  db: Database.Database,
  statePath: string,
  file: string,
  replace: boolean,
): Promise<StateBackup> {
  const target = nodePath.resolve(file)
  const temporary = temporaryBeside(target)
  try {
    await db.backup(temporary)
    if (!replace && fs.existsSync(target)) throw new Error(`${file} appeared while the backup was written`)
    // The -wal and -shm of a replaced file belong to its old content: SQLite would read them as the copy's.
    for (const companion of [`${target}-wal`, `${target}-shm`]) fs.rmSync(companion, { force: true })
    fs.renameSync(temporary, target)
  } catch (error) {
    fs.rmSync(temporary, { force: true })
    const reason = error instanceof Error ? error.message : String(error)
    throw new CronsError('STATE_INVALID', `cannot back up ${statePath} to ${file}: ${reason}`, { cause: error })
  }
  return { file: target, sizeBytes: fs.statSync(target).size }
}
