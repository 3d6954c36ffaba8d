/**
 * A user who may read the state file but not write it or its folder (a monitoring account): SQLite
 * reads a WAL file through its -shm index, which it must create when no scheduler has the file open,
 * and only a process that may write the file can remove it again. The inspecting commands then say so
 * in one line; with a scheduler running (the index exists) they read.
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

/** Run the built CLI as `user` (`nobody`, `daemon`: who can read the project but write nothing in it). */
function asUser(user: string, dir: string, args: string[]) {
  return spawnSync('runuser', ['-u', user, '--', process.execPath, path.join(ROOT, 'bin/run.js'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), NO_COLOR: '1' },
  })
}

function writeConfig(dir: string): void {
  fs.writeFileSync(
    path.join(dir, 'crons.config.mjs'),
    "export default { state: './crons.db', timezone: 'UTC', jobs: [{ name: 'a', schedule: '0 3 * * *', run() {} }] }\n",
  )
}

/** A shared folder anyone may write, with a closed state file (no -shm) that only `daemon` may write. */
function stateOwnedByDaemon(): string {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-ro-'))
  dirs.push(dir)
  fs.chmodSync(dir, 0o777)
  writeConfig(dir)
  expect(crons(dir, ['pause-job', 'a', '--config', 'crons.config.mjs']).status).toBe(0)
  const file = path.join(dir, 'crons.db')
  fs.chownSync(file, 1, 1)
  fs.chmodSync(file, 0o644)
  expect(fs.readdirSync(dir).sort()).toEqual(['crons.config.mjs', 'crons.db'])
  return file
}

describe.skipIf(!canRunAsNobody)(
  'inspecting a state file the user may read but not write, in a folder they may write',
  () => {
    it('is one line saying what to do, exit 4, and leaves nothing that stops the owner writing it', () => {
      const file = stateOwnedByDaemon()
      const dir = path.dirname(file)
      for (const command of ['status', 'list-jobs', 'logs']) {
        const r = asUser('nobody', dir, [command, '--config', 'crons.config.mjs'])
        expect(r.stdout).toBe('')
        expect(r.stderr).toBe(
          `error: ${file}: cannot read the state file without write access to it while no scheduler has it open ` +
            '(SQLite would leave -wal and -shm files beside it, owned by this user, that stop its owner writing it) ' +
            '(Run this as a user who can write the state file, or while a scheduler is running on it)\n',
        )
        expect(r.status).toBe(EXIT.state)
      }
      expect(fs.readdirSync(dir).sort()).toEqual(['crons.config.mjs', 'crons.db'])
      const owner = asUser('daemon', dir, ['resume-job', 'a', '--config', 'crons.config.mjs'])
      expect({ stderr: owner.stderr, status: owner.status }).toEqual({ stderr: '', status: 0 })
    })

    it('the owner is told which -wal and -shm it cannot write, not that the state file is read-only', () => {
      const file = stateOwnedByDaemon()
      const dir = path.dirname(file)
      // As an older crons left them after a read by `nobody`.
      for (const companion of [`${file}-wal`, `${file}-shm`]) {
        fs.writeFileSync(companion, '')
        fs.chownSync(companion, 65534, 65534)
        fs.chmodSync(companion, 0o644)
      }
      const r = asUser('daemon', dir, ['resume-job', 'a', '--config', 'crons.config.mjs'])
      expect(r.stderr).toBe(
        `error: ${file}: cannot write the state file: this user cannot write ${file}-wal and ${file}-shm beside it ` +
          "(SQLite's -wal and -shm files, left by another user) (Give them to the state file's owner (chown), then retry)\n",
      )
      expect(r.status).toBe(EXIT.state)
    })
  },
)

describe.skipIf(!canRunAsNobody)('inspecting a state file whose folder the user cannot write to', () => {
  it('is one line naming the folder and what to do, exit 4, for status, list-jobs and logs', () => {
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-ro-'))
    dirs.push(dir)
    writeConfig(dir)
    // Creates the state file (in WAL mode) and closes it: no -shm is left beside it.
    expect(crons(dir, ['pause-job', 'a', '--config', 'crons.config.mjs']).status).toBe(0)
    fs.chmodSync(dir, 0o755)
    for (const file of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, file), 0o644)
    expect(fs.existsSync(path.join(dir, 'crons.db-shm'))).toBe(false)
    for (const command of ['status', 'list-jobs', 'logs']) {
      const r = asUser('nobody', dir, [command, '--config', 'crons.config.mjs'])
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
