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

interface Copy {
  path: string
  ino: number
  mtimeMs: number
  size: number
}

export class StateFileWatch {
  /** Undefined for `:memory:` or once the file was lost. */
  #identity: { dev: number; ino: number } | undefined
  /** The copy `check()` put back where the deleted file was, as it was left. */
  #restored: Copy | undefined
  readonly #path: string
  readonly #shown: string

  /** `cwd`: where SQLite resolved `file`. */
  constructor(file: string, cwd: string) {
    this.#shown = file
    this.#path = nodePath.resolve(cwd, file)
    if (file === ':memory:') return
    try {
      const stat = fs.statSync(this.#path)
      this.#identity = { dev: stat.dev, ino: stat.ino }
    } catch {
      this.#identity = undefined
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
    const path = this.#path
    const saveTo = now === undefined ? path : `${path}.saved-${new Date().toISOString().replace(/[:.]/g, '-')}`
    await db.backup(saveTo)
    this.#identity = undefined
    if (now === undefined) {
      const copy = fs.statSync(saveTo)
      this.#restored = { path: saveTo, ino: copy.ino, mtimeMs: copy.mtimeMs, size: copy.size }
    }
    const what = now === undefined ? 'was deleted' : 'was replaced by another file'
    const where = now === undefined ? 'restored it from the open database' : `saved the open database to ${saveTo}`
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
      const untouched = stat.ino === restored.ino && stat.mtimeMs === restored.mtimeMs && stat.size === restored.size
      if (untouched && !fs.existsSync(`${restored.path}-wal`)) {
        await backupDatabase(db, this.#shown, restored.path, true)
      }
    } catch {
      // The restored copy stays as it was: complete up to the moment the loss was noticed.
    }
  }
}
