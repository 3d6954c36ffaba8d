/**
 * Bad state files: each gives one exact one-line `CronsError` and leaves the folder byte-for-byte as
 * it was (nothing overwritten, nothing created). This machine's tests run as root, where permission
 * bits do not stop writes, so the read-only cases must hold for root too.
 */
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it, vi } from 'vitest'
import type { CronsError } from '../../src/errors.js'
import { openStore } from '../../src/store/index.js'
import { migrateSqliteFile, openSqliteStore, SCHEMA_VERSION } from '../../src/store/sqlite/index.js'
import { expectCronsError, removeTempDirs, snapshot, tempDir } from './helpers.js'

afterAll(removeTempDirs)

const require = createRequire(import.meta.url)

/** A real crons state file with some history, closed. */
async function crondb(dir: string, name = 'crons.db'): Promise<string> {
  const file = path.join(dir, name)
  const store = await openSqliteStore(file)
  await store.registerInstance({ id: 'A', role: 'scheduler', host: 'h', pid: 1, now: 1 })
  await store.claimSlots(
    Array.from(
      { length: 50 },
      (_, i) => ({ job: `job-${i}`, slot: 1000, trigger: 'schedule', overlap: 'skip' }) as const,
    ),
    'A',
    1000,
  )
  await store.close()
  return file
}

/** Assert the open fails as described and the folder is unchanged. */
async function expectRefused(
  dir: string,
  open: () => Promise<unknown>,
  code: Parameters<typeof expectCronsError>[1],
  message: string,
) {
  const before = snapshot(dir)
  await expectCronsError(open(), code, message)
  expect(snapshot(dir)).toEqual(before)
}

describe('sqlite: bad state files', () => {
  it('refuses a text file', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'notes.txt')
    fs.writeFileSync(file, 'my shopping list\n')
    const message = `${file}: not a crons state file (file is not a SQLite database)`
    await expectRefused(dir, () => openSqliteStore(file), 'STATE_INVALID', message)
    await expectRefused(dir, () => openSqliteStore(file, { readonly: true }), 'STATE_INVALID', message)
  })

  it('refuses a short binary file', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'crons.db')
    fs.writeFileSync(file, Buffer.from([0, 1, 2, 3]))
    const message = `${file}: not a crons state file (file is not a SQLite database)`
    await expectRefused(dir, () => openSqliteStore(file), 'STATE_INVALID', message)
  })

  it('refuses a corrupt state file', async () => {
    const dir = tempDir()
    const file = await crondb(dir)
    const bytes = fs.readFileSync(file)
    bytes.fill(0xa5, 100, 4096) // page 1 after the header: the schema b-tree
    fs.writeFileSync(file, bytes)
    const message = `${file}: state file is corrupt (database disk image is malformed)`
    await expectRefused(dir, () => openSqliteStore(file), 'STATE_INVALID', message)
    await expectRefused(dir, () => openSqliteStore(file, { readonly: true }), 'STATE_INVALID', message)
  })

  it('refuses a truncated state file', async () => {
    const dir = tempDir()
    const file = await crondb(dir)
    fs.truncateSync(file, 1000)
    await expectRefused(
      dir,
      () => openSqliteStore(file),
      'STATE_INVALID',
      `${file}: state file is corrupt (database disk image is malformed)`,
    )
  })

  it('refuses a read-only file, even as root', async () => {
    const dir = tempDir()
    const file = await crondb(dir)
    fs.chmodSync(file, 0o444)
    await expectRefused(
      dir,
      () => openSqliteStore(file),
      'STATE_READONLY',
      `${file}: state file is read-only (need write access to ${file})`,
    )
    // Reading is still fine.
    const reader = await openSqliteStore(file, { readonly: true })
    expect(await reader.listJobs()).toHaveLength(50)
    await reader.close()
  })

  it('refuses a file in a read-only folder, and creates nothing there', async () => {
    const dir = tempDir()
    const file = await crondb(dir)
    fs.chmodSync(dir, 0o555)
    const message = (target: string) => `${target}: state file is read-only (need write access to folder ${dir})`
    await expectRefused(dir, () => openSqliteStore(file), 'STATE_READONLY', message(file))
    const missing = path.join(dir, 'new.db')
    await expectRefused(dir, () => openSqliteStore(missing), 'STATE_READONLY', message(missing))
    fs.chmodSync(dir, 0o755)
  })

  it('reading without write access to the folder: one line while SQLite would have to create the -shm index', async () => {
    const dir = tempDir()
    const file = await crondb(dir)
    expect(fs.existsSync(`${file}-shm`)).toBe(false)
    // What the OS tells a user who may not write to the folder (root is never refused, so it is
    // simulated; test/commands/read-only-folder.test.ts does it for real as another user).
    const accessSync = fs.accessSync
    const denyFolder = () =>
      vi.spyOn(fs, 'accessSync').mockImplementation((target, mode = fs.constants.F_OK) => {
        if (target === dir && (mode & fs.constants.W_OK) !== 0)
          throw Object.assign(new Error('EACCES'), { code: 'EACCES' })
        accessSync(target, mode)
      })
    let denied = denyFolder()
    await expectCronsError(
      openSqliteStore(file, { readonly: true }),
      'STATE_READONLY',
      `${file}: cannot read the state file without write access to its folder ${dir} (SQLite creates its -shm index there while no scheduler has the file open)`,
    )
    denied.mockRestore()
    // With a scheduler holding the file open its index exists, and the same reader goes ahead.
    const writer = await openSqliteStore(file)
    denied = denyFolder()
    try {
      const reader = await openSqliteStore(file, { readonly: true })
      expect(await reader.listJobs()).toHaveLength(50)
      await reader.close()
    } finally {
      denied.mockRestore()
      await writer.close()
    }
  })

  it('refuses a folder as the state path', async () => {
    const dir = tempDir()
    fs.mkdirSync(path.join(dir, 'state'))
    const target = path.join(dir, 'state')
    await expectRefused(dir, () => openSqliteStore(target), 'STATE_INVALID', `${target}: is a folder, not a state file`)
  })

  it('refuses a path whose folder does not exist, and does not create it', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'missing', 'crons.db')
    await expectRefused(
      dir,
      () => openSqliteStore(file),
      'STATE_INVALID',
      `${file}: folder ${path.join(dir, 'missing')} does not exist`,
    )
    const throughFile = path.join(await crondb(dir), 'crons.db')
    await expectRefused(
      dir,
      () => openSqliteStore(throughFile),
      'STATE_INVALID',
      `${throughFile}: ${path.join(dir, 'crons.db')} is not a folder`,
    )
  })

  it('refuses a file another program holds locked, naming the wait', async () => {
    const dir = tempDir()
    const file = await crondb(dir)
    const other = new Database(file)
    other.exec('BEGIN EXCLUSIVE')
    try {
      await expectCronsError(
        openSqliteStore(file, { busyTimeoutMs: 200 }),
        'STATE_LOCKED',
        `${file}: state file is locked by another program (waited 0.2s)`,
      )
    } finally {
      other.exec('ROLLBACK')
    }
    // A lock taken after opening surfaces the same way from any write.
    const store = await openSqliteStore(file, { busyTimeoutMs: 100 })
    other.exec('BEGIN IMMEDIATE')
    try {
      await expectCronsError(
        store.heartbeat('A', 2),
        'STATE_LOCKED',
        `${file}: state file is locked by another program (waited 0.1s)`,
      )
    } finally {
      other.exec('ROLLBACK')
      other.close()
    }
    await store.heartbeat('A', 3)
    await store.close()
  })

  it('refuses a file held in exclusive locking mode, even for reading', async () => {
    const dir = tempDir()
    const file = await crondb(dir)
    const other = new Database(file)
    other.pragma('locking_mode = EXCLUSIVE')
    other.exec('BEGIN EXCLUSIVE; COMMIT')
    try {
      const message = `${file}: state file is locked by another program (waited 0.1s)`
      await expectCronsError(openSqliteStore(file, { busyTimeoutMs: 100 }), 'STATE_LOCKED', message)
      await expectCronsError(openSqliteStore(file, { busyTimeoutMs: 100, readonly: true }), 'STATE_LOCKED', message)
    } finally {
      other.close()
    }
  })

  it('refuses another program’s SQLite database instead of adding tables to it', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'app.db')
    const other = new Database(file)
    other.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada')")
    other.close()
    await expectRefused(
      dir,
      () => openSqliteStore(file),
      'STATE_INVALID',
      `${file}: not a crons state file (SQLite database with other tables: users); refusing to add crons tables to it`,
    )
    const marked = new Database(file)
    marked.exec('DROP TABLE users')
    marked.pragma('application_id = 42')
    marked.close()
    await expectRefused(
      dir,
      () => openSqliteStore(file),
      'STATE_INVALID',
      `${file}: not a crons state file (SQLite database of another application, application id 0x2a)`,
    )
  })

  it('refuses a file written by a newer crons', async () => {
    const dir = tempDir()
    const file = await crondb(dir)
    const raw = new Database(file)
    raw.pragma('user_version = 7')
    raw.close()
    const message = `${file}: state file has schema version 7, this crons understands up to ${SCHEMA_VERSION} (upgrade crons)`
    await expectRefused(dir, () => openSqliteStore(file), 'STATE_VERSION', message)
    await expectRefused(dir, () => openSqliteStore(file, { readonly: true }), 'STATE_VERSION', message)
  })

  it('refuses a newer or foreign file in WAL mode without folding its -wal into it', async () => {
    const dir = tempDir()
    /** The program writing `file` exits without closing it: its last writes are in the -wal alone. */
    const leaveInWal = (file: string, sql: string) => {
      const script = `const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))})
const db = new Database(${JSON.stringify(file)})
db.pragma('journal_mode = WAL')
db.pragma('wal_autocheckpoint = 0')
db.exec(${JSON.stringify(sql)})
process.exit(0)`
      const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' })
      expect(child.status, child.stderr).toBe(0)
      expect(fs.statSync(`${file}-wal`).size).toBeGreaterThan(0)
    }
    const newer = await crondb(dir, 'newer.db')
    leaveInWal(newer, `PRAGMA user_version = ${SCHEMA_VERSION + 1}; CREATE TABLE future (x)`)
    const foreign = path.join(dir, 'app.db')
    leaveInWal(
      foreign,
      "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada')",
    )
    // The -shm is only SQLite's index of the -wal, which a reader may rebuild.
    const data = () => Object.entries(snapshot(dir)).filter(([name]) => !name.endsWith('-shm'))
    const before = data()
    await expectCronsError(
      openSqliteStore(newer),
      'STATE_VERSION',
      `${newer}: state file has schema version ${SCHEMA_VERSION + 1}, this crons understands up to ${SCHEMA_VERSION} (upgrade crons)`,
    )
    await expectCronsError(
      openSqliteStore(foreign),
      'STATE_INVALID',
      `${foreign}: not a crons state file (SQLite database with other tables: users); refusing to add crons tables to it`,
    )
    expect(data()).toEqual(before)
    expect(before.map(([name]) => name)).toEqual(['app.db', 'app.db-wal', 'newer.db', 'newer.db-wal'])
  })

  it('never creates a file when opening read-only', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'crons.db')
    await expectRefused(
      dir,
      () => openSqliteStore(file, { readonly: true }),
      'STATE_INVALID',
      `${file}: no state file yet (nothing has run with this state file)`,
    )
    expect(fs.existsSync(file)).toBe(false)
  })

  it('accepts an empty (zero-byte) file as a new state file', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'crons.db')
    fs.writeFileSync(file, '')
    const store = await openSqliteStore(file)
    expect(await store.listJobs()).toEqual([])
    await store.close()
  })

  it('openStore opens SQLite files, and refuses URLs it has no backend for without showing a password', async () => {
    const store = await openStore(':memory:')
    expect(store.location).toBe(':memory:')
    await store.close()
    await expectCronsError(
      openStore('mysql://user:secret@db.example/crons'),
      'STATE_INVALID',
      'mysql://user:***@db.example/crons: unsupported URL scheme "mysql://"; expected postgres:// or postgresql:// (or a file path)',
    )
    await expectCronsError(openStore(''), 'STATE_INVALID', 'state file path is empty')
  })
})

describe('sqlite: a file being created', () => {
  /**
   * A reader in another process, polling as fast as it can from the moment the file appears, sees
   * it either empty (zero bytes: no state yet) or with its whole schema: never a database without one,
   * which reads as a copy made without its -wal file (the fault `crons logs --follow` once hit).
   */
  it('is never seen by a reader as a database without its schema', async () => {
    const dir = tempDir()
    const rounds = 20
    const reader = spawn(
      process.execPath,
      [
        '-e',
        `const Database = require(${JSON.stringify(require.resolve('better-sqlite3'))})
const fs = require('node:fs')
const seen = []
process.stdin.once('data', () => {
  for (let i = 0; i < ${rounds}; i++) {
    const file = ${JSON.stringify(dir)} + '/s-' + i + '.db'
    const states = new Set()
    for (;;) {
      const size = fs.statSync(file, { throwIfNoEntry: false })?.size
      if (size === undefined || size === 0) { states.add('none'); continue }
      const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5000 })
      const version = db.pragma('user_version', { simple: true })
      db.close()
      states.add('version ' + version)
      if (version !== 0) break
    }
    seen.push([...states].filter((state) => state !== 'none'))
  }
  process.stdout.write(JSON.stringify(seen))
})`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    )
    let output = ''
    reader.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk
    })
    const exited = new Promise((resolve) => reader.once('exit', resolve))
    reader.stdin.end('go\n')
    for (let i = 0; i < rounds; i++) {
      const store = await openSqliteStore(path.join(dir, `s-${i}.db`))
      await store.close()
    }
    await exited
    expect(JSON.parse(output)).toEqual(Array.from({ length: rounds }, () => [`version ${SCHEMA_VERSION}`]))
  })

  it('is created once by processes opening it at the same moment, none failing or waiting out a lock', async () => {
    const dir = tempDir()
    const rounds = 25
    const worker = fileURLToPath(new URL('./fixtures/create-worker.mjs', import.meta.url))
    const workers = [1, 2, 3, 4].map(() => {
      const child = spawn(process.execPath, ['--import', 'tsx', worker, dir, String(rounds)], {
        cwd: path.dirname(worker),
        stdio: ['pipe', 'pipe', 'inherit'],
      })
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
      return { child, next: async () => (await lines.next()).value as string }
    })
    const found: unknown[][] = []
    for (let round = 0; round < rounds; round++) {
      for (const { next } of workers) expect(await next()).toBe('ready')
      for (const { child } of workers) child.stdin.write('go\n')
      found.push(await Promise.all(workers.map(async ({ next }) => JSON.parse(await next()))))
    }
    for (const { child } of workers) child.stdin.end()
    // Each round: one process created the file (found version 0), the others found it whole.
    const expected = [{ from: 0 }, ...Array.from({ length: 3 }, () => ({ from: SCHEMA_VERSION }))]
    const sorted = (results: unknown[]) =>
      [...results].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
    expect(found.map(sorted)).toEqual(Array.from({ length: rounds }, () => sorted(expected)))
    // No file a creation wrote under its own name is left (SQLite may leave a -wal or -shm beside a state file).
    expect(fs.readdirSync(dir).filter((name) => !/^s-\d+\.db(-wal|-shm)?$/.test(name))).toEqual([])
  })

  it('is created in place where the file system has no hard links', () => {
    const dir = tempDir()
    const file = path.join(dir, 'crons.db')
    const link = vi.spyOn(fs, 'linkSync').mockImplementation(() => {
      throw Object.assign(new Error('operation not permitted, link'), { code: 'EPERM' })
    })
    try {
      expect(migrateSqliteFile(file)).toEqual({ location: file, from: 0, to: SCHEMA_VERSION })
      expect(link).toHaveBeenCalledOnce()
    } finally {
      link.mockRestore()
    }
    expect(migrateSqliteFile(file).from).toBe(SCHEMA_VERSION)
    expect(fs.readdirSync(dir)).toEqual(['crons.db'])
  })

  it('is created where a symbolic link that points nowhere yet points', async () => {
    const dir = tempDir()
    fs.mkdirSync(path.join(dir, 'data'))
    const target = path.join(dir, 'data', 'crons.db')
    fs.symlinkSync(target, path.join(dir, 'crons.db'))
    expect(migrateSqliteFile(path.join(dir, 'crons.db')).from).toBe(0)
    expect(fs.lstatSync(path.join(dir, 'crons.db')).isSymbolicLink()).toBe(true)
    expect(migrateSqliteFile(target).from).toBe(SCHEMA_VERSION)
  })
})

describe('sqlite: the state file deleted or replaced while open', () => {
  /** An open store with one running run, and what it writes once the loss was noticed (the stop's writes). */
  async function openWithRun(file: string) {
    const store = await openSqliteStore(file)
    await store.registerInstance({ id: 'A', role: 'scheduler', host: 'h', pid: 1, now: 1000 })
    const [claimed] = await store.claimSlots(
      [{ job: 'tick', slot: 1000, trigger: 'schedule', overlap: 'skip' }],
      'A',
      1000,
    )
    const runId = claimed?.kind === 'started' ? claimed.runId : -1
    return {
      store,
      stop: async () => {
        await store.finishRun(runId, { status: 'succeeded', finishedAt: 3000, codeDone: true })
        await store.stopInstance('A', 3000)
        await store.close()
      },
    }
  }

  /** What a state file holds, read as crons reads it. */
  async function contents(file: string) {
    const store = await openSqliteStore(file, { readonly: true })
    try {
      const runs = (await store.listRuns({})).map((r) => [r.job, r.status])
      const instances = (await store.listInstances()).map((i) => [i.id, i.stoppedAt])
      return { jobs: (await store.listJobs()).map((j) => [j.name, j.paused]), runs, instances }
    } finally {
      await store.close()
    }
  }

  it('replaced: the file that took its place is left byte for byte, and what is written after goes into the saved copy', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'crons.db')
    const { store, stop } = await openWithRun(file)
    // Another state file (a backup being restored) moved into its place.
    const other = path.join(tempDir(), 'other.db')
    const restore = await openSqliteStore(other)
    await restore.syncJobs(['x'], 1)
    await restore.setPaused('x', true, 1)
    await restore.close()
    fs.copyFileSync(other, `${file}.new`)
    fs.renameSync(`${file}.new`, file)
    const placed = snapshot(path.dirname(other))['other.db']
    const error = await store.heartbeat('A', 2000).catch((e: unknown) => e as CronsError)
    expect(error).toMatchObject({ code: 'STATE_GONE' })
    const saved = /saved the open database to (.+)$/.exec((error as Error).message)?.[1] ?? ''
    expect((error as Error).message).toBe(
      `state file ${file} was replaced by another file while in use; saved the open database to ${saved}`,
    )
    await stop()
    expect(snapshot(dir)).toEqual({ 'crons.db': placed, [path.basename(saved)]: expect.any(String) })
    expect(await contents(file)).toEqual({ jobs: [['x', true]], runs: [], instances: [] })
    expect(await contents(saved)).toEqual({
      jobs: [['tick', false]],
      runs: [['tick', 'succeeded']],
      instances: [['A', 3000]],
    })
  })

  it('deleted (its -wal and -shm left behind): restored, with what is written after, and no -wal of the old file beside it', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'crons.db')
    const { store, stop } = await openWithRun(file)
    fs.rmSync(file)
    await expectCronsError(
      store.heartbeat('A', 2000),
      'STATE_GONE',
      `state file ${file} was deleted while in use; restored it from the open database`,
    )
    await stop()
    expect(fs.readdirSync(dir)).toEqual(['crons.db'])
    expect(await contents(file)).toEqual({
      jobs: [['tick', false]],
      runs: [['tick', 'succeeded']],
      instances: [['A', 3000]],
    })
  })
})
