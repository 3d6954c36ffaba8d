/**
 * `crons state migrate` on a SQLite file (the Postgres case is in test/e2e/postgres.test.ts): before a
 * deploy the config may not be on the host, so --state (or CRONS_STATE) alone will do.
 */
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from '../../src/store/sqlite/index.js'
import { crons } from './helpers.js'

const dirs: string[] = []
function emptyDir(): string {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-migrate-'))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

describe('crons state migrate (spawned)', () => {
  it('with --state and no config file: creates the file, then has nothing to say but its version', () => {
    const dir = emptyDir()
    const file = path.join(dir, 'crons.db')
    expect(crons(dir, ['state', 'migrate', '--state', file])).toMatchObject({
      status: 0,
      stdout: `${file}: created at schema version ${SCHEMA_VERSION}\n`,
      stderr: '',
    })
    expect(fs.existsSync(file)).toBe(true)
    expect(crons(dir, ['state', 'migrate', '--state', file]).stdout).toBe(
      `${file}: already at schema version ${SCHEMA_VERSION}, nothing to do\n`,
    )
    const again = crons(dir, ['state', 'migrate', '--json'], { CRONS_STATE: file })
    expect(again.status, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout)).toEqual({ location: file, schema: null, from: SCHEMA_VERSION, to: SCHEMA_VERSION })
  })

  it('says which version it migrated an older file from', () => {
    const dir = emptyDir()
    const file = path.join(dir, 'old.db')
    const db = new Database(file)
    for (const migration of MIGRATIONS.slice(0, 4)) db.exec(migration.sql)
    db.pragma(`application_id = ${APPLICATION_ID}`)
    db.pragma('user_version = 4')
    db.close()
    expect(crons(dir, ['state', 'migrate', '--state', file])).toMatchObject({
      status: 0,
      stdout: `${file}: migrated from schema version 4 to ${SCHEMA_VERSION}\n`,
    })
  })

  it('with neither a config nor a state: the missing config, in one line', () => {
    const result = crons(emptyDir(), ['state', 'migrate'])
    expect(result.status).toBe(EXIT.config)
    expect(result.stderr).toMatch(/^error: no crons\.config\.ts, \.mts, \.js or \.mjs in .+\n$/)
  })
})
