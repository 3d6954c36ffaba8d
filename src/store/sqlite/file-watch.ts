/**
 * Whether the state file is still the one this connection opened: one deleted or replaced under a
 * running process leaves it writing into an inode nobody sees. `check()` then saves the open database
 * (the only copy of what was written) back to the path if nothing took its place, else beside it.
 *
 * SQLite finds a database's `-wal` and `-shm` by name, and the connection keeps writing into the ones
 * it opened: left under the path's name, the old database's frames would be replayed onto the file
 * now there by the next program that opens it. `check()` takes them off the name first (the connection
 * keeps using them, unseen), so the file at the path is left as it was.
 */
import fs from 'node:fs'
import nodePath from 'node:path'
import type Database from 'better-sqlite3'
import { CronsError } from '../../errors.js'
import { backupDatabase } from './backup.js'

interface Seen {
  path: string
  stat: fs.Stats
}

function statOf(path: string): Seen | undefined {
  try {
    return { path, stat: fs.statSync(path) }
  } catch {
    return undefined
  }
}

const sameFile = (a: fs.Stats, b: fs.Stats) => a.ino === b.ino && a.dev === b.dev

export class StateFileWatch {
  /** Undefined for `:memory:` or once the file was lost. */
  #identity: fs.Stats | undefined
  /** The connection's `-wal` and `-shm`, as opened. */
  #companions: Seen[] = []
  /** The copy `check()` wrote, as it was left. */
  #saved: Seen | undefined
  readonly #path: string
  readonly #shown: string

  /** `cwd`: where SQLite resolved `file`. Called once the database is open in WAL mode. */
  constructor(file: string, cwd: string) {
    this.#shown = file
    this.#path = nodePath.resolve(cwd, file)
    if (file === ':memory:') return
    this.#identity = statOf(this.#path)?.stat
    this.#companions = [`${this.#path}-wal`, `${this.#path}-shm`].flatMap((path) => statOf(path) ?? [])
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
    if (now !== undefined && sameFile(now, identity)) return
    flush()
    for (const { path, stat } of this.#companions) {
      const there = statOf(path)
      if (there !== undefined && sameFile(there.stat, stat)) fs.rmSync(path, { force: true })
    }
    const deleted = now === undefined
    const saveTo = deleted ? this.#path : `${this.#path}.saved-${new Date().toISOString().replace(/[:.]/g, '-')}`
    await db.backup(saveTo)
    this.#identity = undefined
    this.#saved = statOf(saveTo)
    const what = deleted ? 'was deleted' : 'was replaced by another file'
    const where = deleted ? 'restored it from the open database' : `saved the open database to ${saveTo}`
    throw new CronsError('STATE_GONE', `state file ${this.#shown} ${what} while in use; ${where}`, {
      suggestions: ['start the scheduler again'],
    })
  }

  /**
   * At close: what was written since `check()` saved the database goes into that copy too, unless
   * someone has opened or changed it since (then it is theirs).
   */
  async refresh(db: Database.Database): Promise<void> {
    const saved = this.#saved
    if (saved === undefined) return
    this.#saved = undefined
    try {
      const stat = fs.statSync(saved.path)
      const then = saved.stat
      const untouched = sameFile(stat, then) && stat.mtimeMs === then.mtimeMs && stat.size === then.size
      if (untouched && !fs.existsSync(`${saved.path}-wal`)) {
        await backupDatabase(db, this.#shown, saved.path, true)
      }
    } catch {
      // The copy stays as it was: complete up to the moment the loss was noticed.
    }
  }
}
