/**
 * Probes of the reading commands (logs, list-jobs, next, config, status) as a user types them, against
 * the built CLI (`npm run build` first). Each `it` here failed when written; see the report.
 */
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src/store/index.js'
import { crons, ROOT } from './helpers.js'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-probe3-'))
  dirs.push(dir)
  return dir
}

/** A state file with one job ("backup") and `runs` finished attempts of it, closed (no -wal/-shm left). */
async function seedState(file: string, runs: { output?: string; errorMessage?: string }[] = [{}]): Promise<void> {
  const store = await openStore(file)
  const now = Date.now()
  try {
    await store.syncJobs(['backup'], now - 60_000)
    for (const [i, more] of runs.entries()) {
      const slot = now - 50_000 + i * 1000
      const run = await store.beginRun(
        { job: 'backup', slot, trigger: 'manual', attempt: 1, overlap: 'allow' },
        'box-1',
        slot,
      )
      if (run.kind !== 'started') throw new Error('not started')
      await store.finishRun(run.runId, {
        status: more.errorMessage ? 'failed' : 'succeeded',
        finishedAt: slot + 500,
        codeDone: true,
        ...more,
      })
    }
  } finally {
    await store.close()
  }
}

const isRoot = process.getuid?.() === 0

/** The built CLI as another user (root only): `uid`/`gid` of spawnSync. */
function asUser(uid: number, dir: string, args: string[]) {
  return spawnSync(process.execPath, [path.join(ROOT, 'bin/run.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    uid,
    gid: uid,
    env: { PATH: process.env.PATH ?? '', HOME: dir, NO_COLOR: '1' },
  })
}

describe.skipIf(!isRoot)('a reading command run by a user who may read the state file but not write it', () => {
  it('leaves nothing behind that stops the file owner writing the state (pause-job, start-scheduler)', async () => {
    const OWNER = 1 // daemon: runs the scheduler, owns crons.db
    const READER = 65534 // nobody: a monitoring account, may write the (shared) folder, not the file
    const dir = tempDir()
    fs.chmodSync(dir, 0o777)
    const file = path.join(dir, 'crons.db')
    await seedState(file)
    fs.chownSync(file, OWNER, OWNER)
    fs.chmodSync(file, 0o644)
    expect(fs.readdirSync(dir)).toEqual(['crons.db'])

    // The owner can write the state before anyone reads it.
    expect(asUser(OWNER, dir, ['pause-job', 'backup', '--state', file]).status).toBe(0)
    expect(asUser(OWNER, dir, ['resume-job', 'backup', '--state', file]).status).toBe(0)

    // The monitoring account checks on the scheduler (none is running: exit 6, the report printed).
    const status = asUser(READER, dir, ['status', '--state', file])
    expect(status.stdout).toContain('scheduler   unhealthy')
    expect(status.status).toBe(6)

    // The owner still can: today the reader's -wal/-shm (owned by nobody, 0644) make the file unwritable.
    const pause = asUser(OWNER, dir, ['pause-job', 'backup', '--state', file])
    expect({ status: pause.status, stderr: pause.stderr, left: fs.readdirSync(dir).sort() }).toEqual({
      status: 0,
      stderr: '',
      left: ['crons.db'],
    })
  })
})

describe('logs --run ID: what the job logged', () => {
  it('keeps a multi-line log line (ctx.log("a\\nb"), console.error(err)) inside the output block', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'crons.db')
    const at = Date.now() - 49_800
    const text = 'retrying upload\nerror      the bucket is gone'
    await seedState(file, [{ output: JSON.stringify([{ at, level: 'info', text }]) }])
    const r = crons(dir, ['logs', '--run', '1', '--state', file])
    expect(r.status).toBe(0)
    const lines = r.stdout.trimEnd().split('\n')
    const block = lines.slice(lines.findIndex((line) => line.startsWith('output')) + 1)
    // Today: ["    +0.200s  info   retrying upload", "error      the bucket is gone"]: the second line of
    // the job's text is printed at column 0, where it reads as one more field of the attempt.
    expect(block).toHaveLength(2)
    for (const line of block) expect(line).toMatch(/^\s{2,}/)
  })
})

describe('logs --follow | head: a reader that goes away', () => {
  it('ends following once stdout is closed, even when no new attempt is written after', async () => {
    const dir = tempDir()
    const file = path.join(dir, 'crons.db')
    await seedState(file, [{}, {}])
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'bin/run.js'), 'logs', '--follow', '--json', '--state', file],
      {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      // The backlog (2 lines) arrives, then the reader goes away, as `| head -1` does after its line.
      let seen = ''
      await new Promise<void>((resolve) =>
        child.stdout.on('data', (chunk: Buffer) => {
          seen += chunk.toString()
          if (seen.split('\n').length > 2) resolve()
        }),
      )
      child.stdout.destroy()
      // Several polls (500 ms each) later: still following, into a pipe nobody reads.
      const code = await Promise.race([
        exited,
        new Promise((resolve) => setTimeout(() => resolve('still running'), 3000)),
      ])
      expect(code).toBe(0)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
      await exited
    }
  })
})
