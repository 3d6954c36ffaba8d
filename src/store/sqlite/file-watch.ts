/**
 * Whether the state file is still the one this connection opened: one deleted or replaced under a
 * running process leaves it writing into an inode nobody sees. `check()` then saves the open database
 * (the only copy of what was written) back to the path if nothing took its place, else beside it.
 */
import fs from 'node:fs'
import nodePath from 'node:path'
import type Database from 'better-sqlite3'
import { CronsError } from '../../errors.js'
import { backupDatabase } from './backup.js'

export class StateFileWatch {
  /** Undefined for `:memory:` or once the file was lost. */
  #identity: fs.Stats | undefined
  /** The copy `check()` put back where the deleted file was, as it was left. */
  #restored: { path: string; stat: fs.Stats } | undefined
  readonly #path: string
  readonly #shown: string

  /** `cwd`: where SQLite resolved `file`. */
  constructor(file: string, cwd: string) {
    this.#shown = file
    this.#path = nodePath.resolve(cwd, file)
    if (file === ':memory:') return
    try {
      this.#identity = fs.statSync(this.#path)
    } catch {
      // Nothing there to watch.
    }
  }

  /** Rejects with `STATE_GONE` once the file is gone or replaced, after `flush` and saving `db`; then never again. */
  async check(db: Database.Database, flush: () => void): Promise<void> {
    const identity = this.#identity
    if (identity === undefined) return
    let now: fs.Stats | undefined
    try {
      now = fs.statSync(this.#path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return
    }
    if (now !== undefined && now.ino === identity.ino && now.dev === identity.dev) return
    flush()
    const deleted = now === undefined
    const saveTo = deleted ? this.#path : `${this.#path}.saved-${new Date().toISOString().replace(/[:.]/g, '-')}`
    await db.backup(saveTo)
    this.#identity = undefined
    if (deleted) this.#restored = { path: saveTo, stat: fs.statSync(saveTo) }
    const what = deleted ? 'was deleted' : 'was replaced by another file'
    const where = deleted ? 'restored it from the open database' : `saved the open database to ${saveTo}`
    throw new CronsError('STATE_GONE', `state file ${this.#shown} ${what} while in use; ${where}`, {
      suggestions: ['start the scheduler again'],
    })
  }

  /**
   * At close: what was written since `check()` restored a deleted file goes into the restored copy too,
   * unless someone has opened or changed that copy since (then it is theirs).
   */
  async refresh(db: Database.Database): Promise<void> {
    const restored = this.#restored
    if (restored === undefined) return
    this.#restored = undefined
    try {
      const stat = fs.statSync(restored.path)
      const then = restored.stat
      const untouched = stat.ino === then.ino && stat.mtimeMs === then.mtimeMs && stat.size === then.size
      if (untouched && !fs.existsSync(`${restored.path}-wal`)) {
        await backupDatabase(db, this.#shown, restored.path, true)
      }
    } catch {
      // The restored copy stays as it was: complete up to the moment the loss was noticed.
    }
  }
}
