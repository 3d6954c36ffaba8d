/**
 * Upgrading a state written before run status `cancelled`, `jobs.paused_at`, the instance facts
 * (`config_hash`, `clock_offset_ms`) and cancel requests (`runs.cancel_request`): SQLite version 4 →
 * current (5 rebuilds `runs`), Postgres version 1 → current. Every row is kept as it was; a job paused
 * before the upgrade stays paused, since an unknown instant; the new status is accepted and nothing
 * else is.
 */
import path from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src/store/index.js'
import { MIGRATIONS as PG_MIGRATIONS, PG_SCHEMA_VERSION } from '../../src/store/postgres/index.js'
import { APPLICATION_ID, MIGRATIONS, openSqliteStore, SCHEMA_VERSION } from '../../src/store/sqlite/index.js'
import type { Store } from '../../src/store/types.js'
import { freshSchema, stateUrl, withClient } from '../postgres/schemas.js'
import { MIN, T0 } from './contract-kit.js'
import { removeTempDirs, tempDir } from './helpers.js'

afterAll(removeTempDirs)

/** What a store reads back of the upgraded state, the same whichever store it is. */
async function expectKept(store: Store, ids: { running: number; retried: number }): Promise<void> {
  const jobs = await store.listJobs()
  expect(jobs.map((j) => [j.name, j.paused, j.pausedAt, j.lastSlot])).toEqual([
    ['a', false, null, T0 + 3 * MIN],
    ['b', true, null, T0 + 3 * MIN],
  ])
  const instances = await store.listInstances()
  expect(instances.map((i) => [i.id, i.heartbeatAt, i.configHash, i.clockOffsetMs])).toEqual([
    ['A', T0 + 4 * MIN, null, null],
  ])
  const runs = await store.listRuns({ limit: 100 })
  expect(runs.map((r) => [r.id, r.job, r.status, r.active])).toEqual([
    [ids.running, 'a', 'running', true],
    [ids.retried, 'b', 'failed', false],
    [ids.retried - 1, 'a', 'succeeded', false],
    [ids.retried - 2, 'b', 'skipped', false],
  ])
  expect((await store.listRuns({ job: 'a' })).map((r) => r.id)).toEqual([ids.running, ids.retried - 1])
  expect(await store.orphanedRetries()).toEqual([
    { runId: ids.retried, job: 'b', slot: T0 + 2 * MIN, trigger: 'schedule', attempt: 1, retryAt: T0 + 5 * MIN },
  ])
  // The new vocabulary works on the upgraded state (the stopped instance's run is finished late).
  await store.finishRun(ids.running, { status: 'cancelled', finishedAt: T0 + 4 * MIN, codeDone: true })
  expect(await store.getRun(ids.running)).toMatchObject({ status: 'cancelled', active: false })
  await store.updateInstance('A', { configHash: 'h1', clockOffsetMs: 12 })
  expect((await store.listInstances())[0]).toMatchObject({ configHash: 'h1', clockOffsetMs: 12 })
  // A job paused before the upgrade keeps its unknown instant when paused again; a new pause has one.
  await store.setPaused('b', true, T0 + 6 * MIN)
  await store.setPaused('a', true, T0 + 6 * MIN)
  expect((await store.listJobs()).map((j) => [j.name, j.pausedAt])).toEqual([
    ['a', T0 + 6 * MIN],
    ['b', null],
  ])
}

describe('sqlite: upgrading a version 4 file', () => {
  /** A file as crons wrote it at version 4: two jobs (b paused), four runs (one running, one awaiting its retry). */
  function versionFourFile(): string {
    const file = path.join(tempDir(), 'v4.db')
    const db = new Database(file)
    db.pragma('journal_mode = WAL')
    for (const migration of MIGRATIONS.slice(0, 4)) db.exec(migration.sql)
    db.pragma(`application_id = ${APPLICATION_ID}`)
    db.pragma('user_version = 4')
    db.exec(`
      INSERT INTO instances (id, host, pid, started_at, heartbeat_at, role, process_start)
        VALUES ('A', 'h', 1, ${T0}, ${T0 + 4 * MIN}, 'scheduler', 99);
      INSERT INTO runs (id, job, slot, "trigger", attempt, status, started_at, finished_at, instance_id, active, prev_id, retry_at, detail)
        VALUES (1, 'b', ${T0}, 'schedule', 1, 'skipped', ${T0}, ${T0 + MIN}, 'A', 0, NULL, NULL, '{"paused":true,"count":2,"first":${T0},"last":${T0 + MIN}}'),
               (2, 'a', ${T0 + MIN}, 'schedule', 1, 'succeeded', ${T0 + MIN}, ${T0 + MIN + 5}, 'A', 0, NULL, NULL, NULL),
               (3, 'b', ${T0 + 2 * MIN}, 'schedule', 1, 'failed', ${T0 + 2 * MIN}, ${T0 + 2 * MIN + 5}, 'A', 0, 1, ${T0 + 5 * MIN}, NULL),
               (7, 'a', ${T0 + 3 * MIN}, 'schedule', 1, 'running', ${T0 + 3 * MIN}, NULL, 'A', 1, 2, NULL, NULL);
      UPDATE sqlite_sequence SET seq = 9 WHERE name = 'runs';
      INSERT INTO jobs (name, last_slot, paused, created_at, seen_at, last_run_id)
        VALUES ('a', ${T0 + 3 * MIN}, 0, ${T0}, ${T0}, 7), ('b', ${T0 + 3 * MIN}, 1, ${T0}, ${T0}, 3);
      INSERT INTO slot_claims (slot, job) VALUES (${T0 + 3 * MIN}, 'a');
    `)
    db.prepare('UPDATE instances SET stopped_at = ? WHERE id = ?').run(T0 + 4 * MIN, 'A')
    db.close()
    return file
  }

  type Rows = Record<string, unknown>[]
  function rowsOf(file: string): { runs: Rows; jobs: Rows; claims: Rows; sequence: Rows } {
    const db = new Database(file, { readonly: true })
    const all = (sql: string) => db.prepare(sql).all() as Record<string, unknown>[]
    const rows = {
      runs: all('SELECT * FROM runs ORDER BY id'),
      jobs: all('SELECT name, last_slot, paused, created_at, seen_at, last_run_id FROM jobs ORDER BY name'),
      claims: all('SELECT * FROM slot_claims'),
      sequence: all('SELECT * FROM sqlite_sequence'),
    }
    db.close()
    return rows
  }

  it('keeps every row, the id sequence and the indexes, and accepts cancelled runs', async () => {
    const file = versionFourFile()
    const before = rowsOf(file)
    const raw = new Database(file, { readonly: true })
    const indexes = raw.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'runs'").all()
    raw.close()

    const store = await openSqliteStore(file)
    expect(await store.info()).toMatchObject({ schemaVersion: SCHEMA_VERSION })
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(5)
    // Every column the file had is kept as it was (later versions add columns, all null).
    const after = rowsOf(file)
    const kept = Object.keys(before.runs[0] ?? {})
    expect(after.runs.map((row) => Object.fromEntries(kept.map((k) => [k, row[k]])))).toEqual(before.runs)
    expect(after.runs.every((row) => row.cancel_request === null)).toBe(true)
    expect({ ...after, runs: [] }).toEqual({ ...before, runs: [] })
    const upgraded = new Database(file, { readonly: true })
    expect(upgraded.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION)
    expect(
      upgraded.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'runs'").all(),
    ).toEqual(expect.arrayContaining(indexes as unknown[]))
    upgraded.close()
    await expectKept(store, { running: 7, retried: 3 })
    // A new run takes an id above the carried sequence.
    const [claimed] = await store.claimSlots(
      [{ job: 'c', slot: T0 + 10 * MIN, trigger: 'schedule', overlap: 'allow' }],
      'A',
      T0 + 10 * MIN,
    )
    expect(claimed).toEqual({ kind: 'started', runId: 10 })
    await store.close()

    const check = new Database(file)
    expect(() => check.prepare("UPDATE runs SET status = 'bogus' WHERE id = 2").run()).toThrow(/CHECK/)
    check.close()
  })
})

describe('postgres: upgrading a version 1 schema', () => {
  it('keeps every row and accepts cancelled runs', async () => {
    const schema = freshSchema()
    const S = `"${schema}"`
    await withClient(async (client) => {
      await client.query(`CREATE SCHEMA ${S}`)
      await client.query(
        `CREATE TABLE ${S}.schema_migrations (version integer PRIMARY KEY, description text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now())`,
      )
      await client.query((PG_MIGRATIONS[0] as { sql: (S: string) => string }).sql(S))
      await client.query(`INSERT INTO ${S}.schema_migrations (version, description) VALUES (1, 'initial')`)
      await client.query(
        `INSERT INTO ${S}.instances (id, role, host, pid, started_at, heartbeat_at, process_start)
         VALUES ('A', 'scheduler', 'h', 1, ${T0}, ${T0 + 4 * MIN}, 99)`,
      )
      await client.query(
        `INSERT INTO ${S}.runs (id, job, slot, "trigger", attempt, status, started_at, finished_at, instance_id, active, retry_at)
         VALUES (1, 'b', ${T0}, 'schedule', 1, 'skipped', ${T0}, ${T0 + MIN}, 'A', false, NULL),
                (2, 'a', ${T0 + MIN}, 'schedule', 1, 'succeeded', ${T0 + MIN}, ${T0 + MIN + 5}, 'A', false, NULL),
                (3, 'b', ${T0 + 2 * MIN}, 'schedule', 1, 'failed', ${T0 + 2 * MIN}, ${T0 + 2 * MIN + 5}, 'A', false, ${T0 + 5 * MIN}),
                (7, 'a', ${T0 + 3 * MIN}, 'schedule', 1, 'running', ${T0 + 3 * MIN}, NULL, 'A', true, NULL)`,
      )
      await client.query(`SELECT setval('${S}.runs_id_seq', 9)`)
      await client.query(
        `INSERT INTO ${S}.jobs (name, last_slot, paused, created_at, seen_at)
         VALUES ('a', ${T0 + 3 * MIN}, false, ${T0}, ${T0}), ('b', ${T0 + 3 * MIN}, true, ${T0}, ${T0})`,
      )
      await client.query(`UPDATE ${S}.instances SET stopped_at = ${T0 + 4 * MIN}`)
    })

    const store = await openStore(stateUrl(schema))
    expect((await store.info()).schemaVersion).toBe(PG_SCHEMA_VERSION)
    await expectKept(store, { running: 7, retried: 3 })
    const [claimed] = await store.claimSlots(
      [{ job: 'c', slot: T0 + 10 * MIN, trigger: 'schedule', overlap: 'allow' }],
      'A',
      T0 + 10 * MIN,
    )
    expect(claimed).toEqual({ kind: 'started', runId: 10 })
    await store.close()

    await withClient(async (client) => {
      const versions = await client.query(`SELECT version FROM ${S}.schema_migrations ORDER BY version`)
      expect(versions.rows.map((row) => row.version)).toEqual(
        Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1),
      )
      await expect(client.query(`UPDATE ${S}.runs SET status = 'bogus' WHERE id = 2`)).rejects.toThrow(/check/i)
    })
  })
})
