/**
 * Bad state files through the real CLI (SEMANTICS §8): `run-job` and `start-scheduler` with
 * `--state` pointing at something unusable. Each gives ONE line on stderr naming the file and the
 * problem, nothing on stdout, exit 4 (EXIT.state), and leaves the file byte-for-byte as it was
 * (nothing created next to it either).
 *
 * Runs as root here. Root ignores permission bits, so "read-only" cannot be provoked by the kernel;
 * the store deliberately treats a file (or folder) with no write bit for anyone as read-only, so
 * root and other users get the same refusal — that is what the read-only cases check.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { openStore } from '../../src/store/index.js'
import { BIN, CliProcess, linesOf, runCli, sleep, tempDir, useBuiltCli } from './helpers.js'

useBuiltCli()

const CONFIG = `export default {
  timezone: 'UTC',
  jobs: [{ name: 'noop', schedule: '0 0 1 1 *', run() { return 'ran' } }],
}
`

/** Names and content hashes of everything under a folder (recursively): equal = nothing written or created. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (p: string, rel: string) => {
    const st = fs.statSync(p)
    if (st.isDirectory()) {
      out[`${rel}/`] = `dir ${(st.mode & 0o777).toString(8)}`
      for (const name of fs.readdirSync(p).sort()) walk(path.join(p, name), rel ? `${rel}/${name}` : name)
    } else {
      out[rel] = `${(st.mode & 0o777).toString(8)} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`
    }
  }
  walk(dir, '')
  return out
}

function hash(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex')
}

/** A real crons state file with history in it (written by the project's store), closed. */
async function realStateFile(file: string): Promise<void> {
  const store = await openStore(file)
  await store.registerInstance({ id: 'earlier', role: 'scheduler', host: 'h', pid: 1, now: 1_000 })
  await store.claimSlots(
    Array.from(
      { length: 40 },
      (_, i) => ({ job: `job-${i}`, slot: 60_000, trigger: 'schedule', overlap: 'skip' }) as const,
    ),
    'earlier',
    60_000,
  )
  await store.close()
}

interface Case {
  name: string
  /** Prepare `data/` inside the test's folder; return the --state path. */
  setup: (data: string) => Promise<string> | string
  message: (state: string) => string
}

const CASES: Case[] = [
  {
    name: 'a text file (not SQLite)',
    setup: (data) => {
      const file = path.join(data, 'notes.db')
      fs.writeFileSync(file, 'my shopping list\n- milk\n')
      return file
    },
    message: (file) =>
      `${file}: not a crons state file (file is not a SQLite database) (Point the state option at a new file name, or remove this file if it is not needed)`,
  },
  {
    name: 'a corrupt SQLite file (valid header, garbage pages)',
    setup: async (data) => {
      const file = path.join(data, 'crons.db')
      await realStateFile(file)
      const bytes = fs.readFileSync(file)
      bytes.fill(0xa5, 100, 4096) // page 1 after the 100-byte header: the schema b-tree
      fs.writeFileSync(file, bytes)
      return file
    },
    message: (file) =>
      `${file}: state file is corrupt (database disk image is malformed) (Restore it from a backup, or move it away to start with an empty state file)`,
  },
  {
    name: "another application's SQLite database",
    setup: (data) => {
      const file = path.join(data, 'app.db')
      const db = new Database(file)
      db.exec("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'Ada')")
      db.close()
      return file
    },
    message: (file) =>
      `${file}: not a crons state file (SQLite database with other tables: customers); refusing to add crons tables to it (Use a separate file for crons state, for example crons.db)`,
  },
  {
    name: 'a read-only state file (chmod 444, refused even as root)',
    setup: async (data) => {
      const file = path.join(data, 'crons.db')
      await realStateFile(file)
      fs.chmodSync(file, 0o444)
      return file
    },
    message: (file) => `${file}: state file is read-only (need write access to ${file})`,
  },
  {
    name: 'a state file in a read-only folder (chmod 555, refused even as root)',
    setup: async (data) => {
      const file = path.join(data, 'crons.db')
      await realStateFile(file)
      fs.chmodSync(data, 0o555)
      return file
    },
    message: (file) => `${file}: state file is read-only (need write access to folder ${path.dirname(file)})`,
  },
  {
    name: 'a directory',
    setup: (data) => {
      const dir = path.join(data, 'state')
      fs.mkdirSync(dir)
      return dir
    },
    message: (dir) =>
      `${dir}: is a folder, not a state file (Point the state option at a file inside it, for example crons.db)`,
  },
  {
    name: 'a path in a missing folder',
    setup: (data) => path.join(data, 'missing', 'crons.db'),
    message: (file) =>
      `${file}: folder ${path.dirname(file)} does not exist (Create it with: mkdir -p ${path.dirname(file)})`,
  },
]

const COMMANDS: Array<[string, string[]]> = [
  ['run-job', ['run-job', 'noop']],
  ['start-scheduler', ['start-scheduler']],
]

describe.concurrent('bad state files: one line naming the file, exit 4, the file unchanged', () => {
  for (const c of CASES) {
    for (const [label, argv] of COMMANDS) {
      it(`${c.name} (${label})`, async () => {
        const cwd = tempDir({ 'crons.config.ts': CONFIG })
        const data = path.join(cwd, 'data')
        fs.mkdirSync(data)
        const state = await c.setup(data)
        const before = snapshot(cwd)
        // start-scheduler would run forever if it accepted the file: the deadline catches that.
        const r = await runCli([...argv, '--state', state], { cwd, timeoutMs: 20_000 })
        expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
          code: 4,
          stdout: '',
          stderr: `error: ${c.message(state)}\n`,
        })
        expect(snapshot(cwd)).toEqual(before)
      })
    }
  }

  for (const [label, argv] of COMMANDS) {
    it(`a state file locked by another program (BEGIN EXCLUSIVE held) (${label})`, async () => {
      const cwd = tempDir({ 'crons.config.ts': CONFIG })
      const file = path.join(cwd, 'crons.db')
      await realStateFile(file)
      const bytes = hash(file)
      const holder = new Database(file)
      try {
        holder.exec('BEGIN EXCLUSIVE')
        const r = await runCli([...argv, '--state', file], { cwd, timeoutMs: 25_000 })
        expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
          code: 4,
          stdout: '',
          stderr: `error: ${file}: state file is locked by another program (waited 5s) (Close the program holding it (a SQLite browser with an open transaction?) and retry)\n`,
        })
        // It waited for the lock (busy timeout) rather than failing at once.
        expect(r.ms).toBeGreaterThanOrEqual(4900)
        expect(hash(file)).toBe(bytes)
      } finally {
        holder.exec('ROLLBACK')
        holder.close()
      }
      // Once released, the same file works and still holds its history.
      const ok = await runCli(['run-job', 'noop', '--state', file], { cwd })
      expect(ok.code).toBe(0)
      const store = await openStore(file, { readonly: true })
      try {
        expect(await store.listJobs()).toHaveLength(41)
        expect((await store.listRuns({ limit: 1000 })).length).toBe(41)
      } finally {
        await store.close()
      }
    })
  }

  it('the refusals leave a usable file usable: after chmod back, the read-only file runs and keeps its history', async () => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const file = path.join(cwd, 'crons.db')
    await realStateFile(file)
    fs.chmodSync(file, 0o444)
    const refused = await runCli(['run-job', 'noop', '--state', file], { cwd })
    expect(refused.code).toBe(4)
    expect(linesOf(refused.stderr)).toHaveLength(1)
    fs.chmodSync(file, 0o644)
    const ok = await runCli(['run-job', 'noop', '--state', file], { cwd })
    expect(ok.stdout).toMatch(/^noop succeeded after 1 attempt\(s\)/)
    expect(ok.code).toBe(0)
    const store = await openStore(file, { readonly: true })
    try {
      const runs = await store.listRuns({ limit: 1000 })
      expect(runs).toHaveLength(41)
      expect(runs.filter((r) => r.trigger === 'manual')).toMatchObject([{ job: 'noop', status: 'succeeded' }])
    } finally {
      await store.close()
    }
  })

  it('CRONS_STATE pointing at a bad file is refused the same way', async () => {
    const cwd = tempDir({ 'crons.config.ts': CONFIG, 'notes.txt': 'not a database\n' })
    const file = path.join(cwd, 'notes.txt')
    const r = await runCli(['run-job', 'noop'], { cwd, env: { CRONS_STATE: file } })
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      `error: ${file}: not a crons state file (file is not a SQLite database) (Point the state option at a new file name, or remove this file if it is not needed)\n`,
    )
    expect(r.code).toBe(4)
    expect(fs.readFileSync(file, 'utf8')).toBe('not a database\n')
  })
})

/** Commands that only read the state (or read it first), with what they need. */
const READERS: Array<[string, string[]]> = [
  ['list-jobs', ['list-jobs']],
  ['status', ['status']],
  ['logs', ['logs']],
  ['logs --follow', ['logs', '--follow']],
  ['state backup', ['state', 'backup', 'copy.db']],
  ['cancel', ['cancel', '1']],
  ['pause-job', ['pause-job', 'tick']],
]

describe('a --state path the reading commands cannot use', () => {
  it('a state path below a regular file (ENOTDIR): one line, exit 4, for every command', async () => {
    const cwd = tempDir({ 'notes.txt': 'hello\n' })
    const state = path.join(cwd, 'notes.txt', 'crons.db')
    const seen: Record<string, unknown> = {}
    const expected: Record<string, unknown> = {}
    for (const [label, argv] of [...READERS, ['state migrate', ['state', 'migrate']] as [string, string[]]]) {
      const r = await runCli([...argv, '--state', state], { cwd, timeoutMs: 10_000 })
      seen[label] = { code: r.code, stderr: r.stderr }
      expected[label] = { code: 4, stderr: `error: ${state}: ${path.join(cwd, 'notes.txt')} is not a folder\n` }
    }
    expect(seen).toEqual(expected)
    expect(fs.readFileSync(path.join(cwd, 'notes.txt'), 'utf8')).toBe('hello\n')
  }, 30_000)

  it('a FIFO as --state: one line, exit 4 (not a hang), for the reading commands', async () => {
    const cwd = tempDir()
    const fifo = path.join(cwd, 'fifo')
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0)
    const seen: Record<string, unknown> = {}
    const expected: Record<string, unknown> = {}
    for (const [label, argv] of [
      ['state migrate', ['state', 'migrate']],
      ['status', ['status']],
    ] as Array<[string, string[]]>) {
      const proc = new CliProcess([...argv, '--state', fifo], { cwd })
      const done = await Promise.race([proc.exit.then(() => true), sleep(6000).then(() => false)])
      if (!done) await proc.kill9()
      seen[label] = done ? { code: proc.exitCode, stderr: proc.stderr } : 'still running after 6 s'
      expected[label] = { code: 4, stderr: `error: ${fifo}: not a regular file, cannot hold crons state\n` }
    }
    expect(seen).toEqual(expected)
  }, 20_000)
})

const canRunAsNobody =
  process.getuid?.() === 0 &&
  spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, BIN, '--version'], {
    env: { PATH: process.env.PATH ?? '', HOME: tmpdir() },
  }).status === 0

describe.skipIf(!canRunAsNobody)('a state file in a folder another user owns', () => {
  it('in a folder the user cannot enter (EACCES on stat): one line, exit 4, for the reading commands', async () => {
    const priv = fs.mkdtempSync(path.join(tmpdir(), 'crons-priv-'))
    try {
      const state = path.join(priv, 'crons.db')
      // A real crons state file, made by state migrate.
      const made = await runCli(['state', 'migrate', '--state', state], { cwd: priv })
      expect(made.code).toBe(0)
      fs.chmodSync(priv, 0o700)
      const seen: Record<string, unknown> = {}
      const expected: Record<string, unknown> = {}
      for (const [label, argv] of [
        ['state migrate', ['state', 'migrate']],
        ['status', ['status']],
        ['list-jobs', ['list-jobs']],
        ['logs', ['logs']],
      ] as Array<[string, string[]]>) {
        const r = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, BIN, ...argv, '--state', state], {
          cwd: tmpdir(),
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), NO_COLOR: '1' },
        })
        seen[label] = { code: r.status, stderr: r.stderr }
        expected[label] = { code: 4, stderr: `error: ${state}: cannot read state file (permission denied)\n` }
      }
      expect(seen).toEqual(expected)
    } finally {
      fs.rmSync(priv, { recursive: true, force: true })
    }
  }, 30_000)
})
