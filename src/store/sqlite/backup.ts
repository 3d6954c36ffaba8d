/** A consistent copy of a state file while schedulers write to it (docs/storage.md: "Backup"). */
import fs from 'node:fs'
import nodePath from 'node:path'
import type Database from 'better-sqlite3'
import { CronsError } from '../../errors.js'
import type { StateBackup } from '../types.js'
import { temporaryBeside } from './open.js'

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
