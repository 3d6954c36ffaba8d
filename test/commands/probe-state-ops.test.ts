/**
 * Probes (state-ops area), spawned CLI: a state file written by the previous crons (schema version 5)
 * meets the state commands of this one; a newer file meets `state migrate`.
 */
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from '../../src/store/sqlite/index.js'
import { crons } from './helpers.js'

const dirs: string[] = []
function folder(): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(tmpdir(), 'crons-probe4-')))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

const T0 = Date.parse('2026-01-01T00:00:00Z')

/** A state file as the previous crons left it (schema version 5): job 'backup' with one succeeded run. */
function previousVersionFile(dir: string): string {
  const file = path.join(dir, 'crons.db')
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  for (const migration of MIGRATIONS.slice(0, SCHEMA_VERSION - 1)) db.exec(migration.sql)
  db.pragma(`application_id = ${APPLICATION_ID}`)
  db.pragma(`user_version = ${SCHEMA_VERSION - 1}`)
  db.exec(`
    INSERT INTO runs (id, job, slot, "trigger", attempt, status, started_at, finished_at, instance_id, active)
      VALUES (1, 'backup', ${T0}, 'schedule', 1, 'succeeded', ${T0}, ${T0 + 5}, 'old', 0);
    INSERT INTO jobs (name, last_slot, paused, created_at, seen_at, last_run_id)
      VALUES ('backup', ${T0}, 0, ${T0}, ${T0}, 1);
  `)
  db.close()
  return file
}

describe('probe: a state file from the previous crons (schema version 5)', () => {
  it('state backup copies it as it is (a backup before the upgrade is the one you want)', () => {
    const dir = folder()
    const state = previousVersionFile(dir)
    const copy = path.join(dir, 'before-upgrade.db')
    const result = crons(dir, ['state', 'backup', copy, '--state', state])
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    expect(fs.existsSync(copy)).toBe(true)
  })

  it('pause-job --state (no config) pauses a job it records, as it would once migrated', () => {
    const dir = folder()
    const state = previousVersionFile(dir)
    const result = crons(dir, ['pause-job', 'backup', '--state', state])
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    expect(result.stdout).toBe('Paused backup: its slots are skipped until `crons resume-job backup`.\n')
  })

  it('control: pause-job with a config naming the job migrates the same file and pauses', () => {
    const dir = folder()
    const state = previousVersionFile(dir)
    fs.writeFileSync(
      path.join(dir, 'crons.config.ts'),
      `export default { timezone: 'UTC', jobs: [{ name: 'backup', schedule: '0 3 * * *', run() {} }] }\n`,
    )
    const result = crons(dir, ['pause-job', 'backup', '--state', state])
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
  })
})

describe('probe: a state file from a newer crons', () => {
  it('state migrate refuses it in one line, exit 4, the file unchanged', () => {
    const dir = folder()
    const file = path.join(dir, 'crons.db')
    expect(crons(dir, ['state', 'migrate', '--state', file]).status).toBe(0)
    const db = new Database(file)
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`)
    db.close()
    const hash = () => createHash('sha256').update(fs.readFileSync(file)).digest('hex')
    const before = hash()
    const result = crons(dir, ['state', 'migrate', '--state', file])
    expect(result.status).toBe(4)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe(
      `error: ${file}: state file has schema version ${SCHEMA_VERSION + 1}, this crons understands up to ${SCHEMA_VERSION} (upgrade crons)\n`,
    )
    expect(hash()).toBe(before)
    expect(fs.readdirSync(dir)).toEqual(['crons.db'])
  })
})
