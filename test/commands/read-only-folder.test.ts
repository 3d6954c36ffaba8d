/**
 * A user who may read the state file but not write to its folder (a monitoring account): SQLite reads
 * a WAL file through its -shm index, which it must create when no scheduler has the file open. The
 * inspecting commands then say so in one line; with a scheduler running (the index exists) they read.
 * Needs root to run a command as another user (runuser), and a checkout that user can read; skipped
 * otherwise.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { crons, ROOT } from './helpers.js'

/** Root with runuser, and a checkout `nobody` can run the CLI from (not one inside a private folder). */
const canRunAsNobody =
  process.getuid?.() === 0 &&
  spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, path.join(ROOT, 'bin/run.js'), '--version'], {
    env: { PATH: process.env.PATH ?? '', HOME: tmpdir() },
  }).status === 0

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

/** Run the built CLI as `nobody` (who can read the project but write nothing in it). */
function asNobody(dir: string, args: string[]) {
  return spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, path.join(ROOT, 'bin/run.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), NO_COLOR: '1' },
  })
}

describe.skipIf(!canRunAsNobody)('inspecting a state file whose folder the user cannot write to', () => {
  it('is one line naming the folder and what to do, exit 4, for status, list-jobs and logs', () => {
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-ro-'))
    dirs.push(dir)
    fs.writeFileSync(
      path.join(dir, 'crons.config.mjs'),
      "export default { state: './crons.db', timezone: 'UTC', jobs: [{ name: 'a', schedule: '0 3 * * *', run() {} }] }\n",
    )
    // Creates the state file (in WAL mode) and closes it: no -shm is left beside it.
    expect(crons(dir, ['pause-job', 'a', '--config', 'crons.config.mjs']).status).toBe(0)
    fs.chmodSync(dir, 0o755)
    for (const file of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, file), 0o644)
    expect(fs.existsSync(path.join(dir, 'crons.db-shm'))).toBe(false)
    for (const command of ['status', 'list-jobs', 'logs']) {
      const r = asNobody(dir, [command, '--config', 'crons.config.mjs'])
      expect(r.stdout).toBe('')
      expect(r.stderr).toBe(
        `error: ${path.join(dir, 'crons.db')}: cannot read the state file without write access to its folder ${dir} ` +
          '(SQLite creates its -shm index there while no scheduler has the file open) ' +
          '(Run this as a user who can write to that folder, or while a scheduler is running on the file)\n',
      )
      expect(r.status).toBe(EXIT.state)
    }
  })
})
