/**
 * `crons state backup FILE`: a complete copy of a state file (what is still in its -wal file
 * included) while it is open for writing, one-line refusals, and --json. A state file that exists is
 * never called missing.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src/store/index.js'
import { SCHEMA_VERSION } from '../../src/store/sqlite/index.js'
import type { Store } from '../../src/store/types.js'
import { olderStateFile } from '../store/helpers.js'
import { crons } from './helpers.js'

const dirs: string[] = []
function folder(): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(tmpdir(), 'crons-backup-')))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

/** A state file held open for writing, with its runs still in the -wal file (never checkpointed). */
async function liveState(dir: string, runs: number): Promise<{ state: string; store: Store }> {
  const state = path.join(dir, 'crons.db')
  const store = await openStore(state)
  await store.syncJobs(['backup'], Date.now())
  for (let i = 0; i < runs; i++) {
    const slot = Date.UTC(2026, 0, 1, 0, i)
    const [claim] = await store.claimSlots(
      [{ job: 'backup', slot, trigger: 'schedule', overlap: 'skip' }],
      'sched',
      slot,
    )
    if (claim?.kind === 'started') {
      await store.finishRun(claim.runId, { status: 'succeeded', finishedAt: slot + 1500, codeDone: true })
    }
  }
  await store.listRuns({ limit: 1 })
  return { state, store }
}

describe('crons state backup', () => {
  it('copies everything, -wal included, while the state is open; the copy reads on its own', async () => {
    const dir = folder()
    const { state, store } = await liveState(dir, 5)
    try {
      expect(fs.statSync(`${state}-wal`).size).toBeGreaterThan(0)
      const result = crons(dir, ['state', 'backup', 'copy.db', '--state', state])
      expect(result.stderr).toBe(`note: no config file in ${dir}: reading ${state} alone\n`)
      expect(result.status).toBe(0)
      expect(result.stdout).toMatch(/^Backed up .*crons\.db to .*copy\.db \(\d+\.\d KB\)\.\n$/)
      const logs = JSON.parse(crons(dir, ['logs', '--state', 'copy.db', '--json']).stdout) as unknown[]
      expect(logs).toHaveLength(5)
      // A plain copy of the main file alone has the schema but has lost the runs still in the -wal file.
      fs.copyFileSync(state, path.join(dir, 'alone.db'))
      expect(JSON.parse(crons(dir, ['logs', '--state', 'alone.db', '--json']).stdout)).toEqual([])
      // A database with no tables at all is said to be empty, not "no state file yet".
      const empty = new Database(path.join(dir, 'empty.db'))
      empty.pragma('journal_mode = WAL')
      empty.close()
      const refused = crons(dir, ['logs', '--state', 'empty.db'])
      expect(refused.status).toBe(4)
      expect(refused.stderr).toMatch(
        /empty\.db: exists \(4096 bytes\) but holds no crons state: an empty SQLite database/,
      )
      expect(refused.stderr).not.toMatch(/no state file yet/)
      expect(refused.stderr.trim().split('\n')).toHaveLength(1)
      // Another program's database is not empty: the refusal names its tables.
      const other = new Database(path.join(dir, 'app.db'))
      other.exec('CREATE TABLE users (id INTEGER PRIMARY KEY)')
      other.close()
      const foreign = crons(dir, ['logs', '--state', 'app.db'])
      expect(foreign.status).toBe(4)
      expect(foreign.stderr).toMatch(/app\.db: not a crons state file \(SQLite database with other tables: users\)/)
      expect(foreign.stderr).not.toMatch(/empty/)
    } finally {
      await store.close()
    }
  })

  it('--json; an existing FILE is refused without --force and replaced with it; no temporary file is left', async () => {
    const dir = folder()
    const { state, store } = await liveState(dir, 2)
    try {
      const target = path.join(dir, 'nightly.db')
      fs.writeFileSync(target, 'old')
      fs.writeFileSync(`${target}-wal`, 'stale')
      const refused = crons(dir, ['state', 'backup', 'nightly.db', '--state', state])
      expect(refused.status).toBe(2)
      expect(refused.stderr).toMatch(
        /^(note: .*\n)?error: "nightly\.db" already exists \(expected a new file name\) \(pass --force to replace it\)\n$/,
      )
      const done = crons(dir, ['state', 'backup', 'nightly.db', '--state', state, '--force', '--json'])
      expect(done.status).toBe(0)
      expect(JSON.parse(done.stdout)).toEqual({ state, file: target, sizeBytes: fs.statSync(target).size })
      expect(fs.existsSync(`${target}-wal`)).toBe(false)
      const db = new Database(target, { readonly: true })
      expect(db.prepare('SELECT count(*) AS n FROM runs').get()).toEqual({ n: 2 })
      db.close()
      expect(fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([])
    } finally {
      await store.close()
    }
  })

  it('one-line refusals: a missing folder, the state file itself, no state yet', () => {
    const dir = folder()
    const missing = crons(dir, ['state', 'backup', 'no/such/dir/copy.db', '--state', 'crons.db'])
    expect(missing.status).toBe(2)
    expect(missing.stderr).toMatch(
      /^error: "no\/such\/dir\/copy\.db": folder .* does not exist \(expected an existing folder\)/,
    )
    const none = crons(dir, ['state', 'backup', 'copy.db', '--state', 'crons.db'])
    expect(none.status).toBe(4)
    expect(none.stderr).toMatch(/crons\.db: no state file yet, nothing to back up/)
    for (const result of [missing, none])
      expect(result.stderr.split('\n').filter((l) => l.startsWith('error'))).toHaveLength(1)
  })

  it('the state file itself is refused', async () => {
    const dir = folder()
    const { state, store } = await liveState(dir, 1)
    await store.close()
    const result = crons(dir, ['state', 'backup', state, '--state', state, '--force'])
    expect(result.status).toBe(2)
    expect(result.stderr).toMatch(/is the state file itself \(expected another file\)\n$/)
  })

  it('--force onto the state file or its -wal by another name (symlinked folder, hard link) is refused, nothing touched', async () => {
    const dir = folder()
    const { state, store } = await liveState(dir, 3)
    const alias = path.join(folder(), 'alias')
    fs.symlinkSync(dir, alias)
    fs.linkSync(state, path.join(dir, 'hard.db'))
    const identity = (file: string) => {
      const { dev, ino, size } = fs.statSync(file)
      return { dev, ino, size }
    }
    try {
      const before = [state, `${state}-wal`, `${state}-shm`].map(identity)
      const cases: [string, string][] = [
        [path.join(alias, 'crons.db'), 'the state file itself'],
        ['hard.db', 'the state file itself'],
        ['crons.db-wal', "the state file's own -wal file"],
        [path.join(alias, 'crons.db-shm'), "the state file's own -shm file"],
      ]
      const results = cases.map(([file]) => {
        const result = crons(dir, ['state', 'backup', file, '--state', state, '--force'])
        return { file, status: result.status, stderr: result.stderr }
      })
      const note = `note: no config file in ${dir}: reading ${state} alone\n`
      expect(results).toEqual(
        cases.map(([file, which]) => ({
          file,
          status: 2,
          stderr: `${note}error: "${file}" is ${which} (expected another file)\n`,
        })),
      )
      expect([state, `${state}-wal`, `${state}-shm`].map(identity)).toEqual(before)
      expect(await store.listRuns({ limit: 10 })).toHaveLength(3)
      expect(fs.readdirSync(dir).sort()).toEqual(['crons.db', 'crons.db-shm', 'crons.db-wal', 'hard.db'])
    } finally {
      await store.close()
    }
  })

  it('a state file an older crons wrote, which the inspecting commands refuse, is copied as it is; a newer one is refused', () => {
    const dir = folder()
    const old = SCHEMA_VERSION - 1
    const state = olderStateFile(
      path.join(dir, 'crons.db'),
      old,
      `INSERT INTO runs (id, job, slot, "trigger", attempt, status, started_at, finished_at, instance_id, active)
        VALUES (1, 'backup', 1000, 'schedule', 1, 'succeeded', 1000, 1005, 'old', 0)`,
    )
    const hash = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex')
    const before = hash(state)
    expect(crons(dir, ['logs', '--state', state])).toMatchObject({
      status: 4,
      stderr: `error: ${state}: state file has schema version ${old}, this crons needs ${SCHEMA_VERSION} and cannot upgrade it read-only (Run \`crons state migrate\` (or start a scheduler) to upgrade it, then retry)\n`,
    })
    expect(crons(dir, ['state', 'backup', 'before-upgrade.db', '--state', state])).toMatchObject({
      status: 0,
      stderr: `note: no config file in ${dir}: reading ${state} alone\n`,
    })
    expect(hash(state)).toBe(before)
    const copy = new Database(path.join(dir, 'before-upgrade.db'), { readonly: true })
    expect(copy.pragma('user_version', { simple: true })).toBe(old)
    expect(copy.prepare('SELECT id, job FROM runs').all()).toEqual([{ id: 1, job: 'backup' }])
    copy.close()
    const newer = new Database(state)
    newer.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
    newer.close()
    expect(crons(dir, ['state', 'backup', 'after.db', '--state', state])).toMatchObject({
      status: 4,
      stderr: `error: ${state}: state file has schema version ${SCHEMA_VERSION + 1}, this crons understands up to ${SCHEMA_VERSION} (upgrade crons)\n`,
    })
    expect(fs.existsSync(path.join(dir, 'after.db'))).toBe(false)
  })

  it('the library store.backup() refuses the same files as the command does', async () => {
    const dir = folder()
    const { state, store } = await liveState(dir, 2)
    try {
      await expect(store.backup?.(state, { replace: true })).rejects.toMatchObject({
        code: 'FLAG_INVALID',
        message: `"${state}" is the state file itself (expected another file)`,
      })
      await expect(store.backup?.(`${state}-wal`, { replace: true })).rejects.toThrow(
        "is the state file's own -wal file (expected another file)",
      )
      expect(await store.listRuns({ limit: 10 })).toHaveLength(2)
    } finally {
      await store.close()
    }
  })
})
