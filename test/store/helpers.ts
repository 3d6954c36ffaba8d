/** Temp folders, byte snapshots and error assertions shared by the SQLite store tests. */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { expect } from 'vitest'
import { CronsError, type ErrorCode } from '../../src/errors.js'
import { APPLICATION_ID, MIGRATIONS } from '../../src/store/sqlite/index.js'

const made: string[] = []

export function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-store-'))
  made.push(dir)
  return dir
}

/** Remove every temp folder, restoring write access first (a test may have made one read-only). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) {
    for (const entry of [dir, ...fs.readdirSync(dir).map((name) => path.join(dir, name))]) {
      try {
        fs.chmodSync(entry, fs.statSync(entry).isDirectory() ? 0o755 : 0o644)
      } catch {
        // Best effort: the entry may be gone already.
      }
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** Every file in a folder with a hash of its bytes: equal snapshots mean nothing was written or created. */
export function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {}
  for (const name of fs.readdirSync(dir).sort()) {
    const full = path.join(dir, name)
    files[name] = fs.statSync(full).isDirectory()
      ? 'dir'
      : createHash('sha256').update(fs.readFileSync(full)).digest('hex')
  }
  return files
}

/** The promise rejects with a one-line `CronsError` of this code and exact message. */
export async function expectCronsError(promise: Promise<unknown>, code: ErrorCode, message: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  )
  expect(error, 'expected a rejection').toBeInstanceOf(CronsError)
  expect((error as CronsError).code).toBe(code)
  expect((error as CronsError).message).toBe(message)
  expect((error as CronsError).message).not.toContain('\n')
}

/** `store` with some of its methods replaced (a failing claim, a clock ahead); the rest call through. */
export function storeWith<S extends object>(store: S, overrides: Partial<S>): S {
  return new Proxy(store, {
    get(target, key) {
      if (Object.hasOwn(overrides, key)) return overrides[key as keyof S]
      const value = Reflect.get(target, key, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** A state file as an older crons left it, closed: schema `version` (in WAL mode), then `sql` (its rows). */
export function olderStateFile(file: string, version: number, sql = ''): string {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  for (const migration of MIGRATIONS.slice(0, version)) db.exec(migration.sql)
  db.pragma(`application_id = ${APPLICATION_ID}`)
  db.pragma(`user_version = ${version}`)
  db.exec(sql)
  db.close()
  return file
}
