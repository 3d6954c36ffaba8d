/**
 * Every fixed query of the SQLite store, prepared once per connection. Preparing is the expensive
 * part of a small query; the hot path (1,000 slot claims due in the same second) only binds and
 * steps these. Queries whose shape depends on a filter are cached separately by the store.
 */
import type Database from 'better-sqlite3'
import type { InstanceRow, JobRow, NewRunParams, RunRow } from './rows.js'
import { RUN_COLUMNS } from './rows.js'

/*
 * A note on `+column` below: without ANALYZE statistics SQLite likes to walk an index in ORDER BY or
 * GROUP BY order and filter every row. The unary `+` stops that, so the partial index on active
 * runs (a handful of rows) or the started_at range is searched instead of millions of rows.
 */

/** An active run of a job joined with what we know of the instance running it. */
export interface HolderRow {
  id: number
  instance_id: string
  started_at: number
  host: string | null
  pid: number | null
}

/** An active run whose instance is dead (or unknown), for reaping. */
export interface OrphanRow {
  id: number
  status: string
  started_at: number
  instance_id: string
  /** The last instant the instance was known alive, or null when it has no row. */
  last_seen: number | null
}

/**
 * An outcome update, in the statement's parameter order (`finishedAt` twice: once for the column,
 * once for the duration).
 */
export type FinishParams = [
  status: string,
  finishedAt: number,
  finishedAtForDuration: number,
  errorMessage: string | null,
  errorStack: string | null,
  result: string | null,
  output: string | null,
  active: 0 | 1,
  id: number,
]

/**
 * Enumerate distinct jobs with a loose index scan: one index seek per job instead of reading every
 * row, so "last run of each job" stays cheap with millions of runs.
 */
function distinctJobs(table: 'runs' | 'slot_claims'): string {
  return `
    WITH RECURSIVE names(job) AS (
      SELECT (SELECT min(job) FROM ${table})
      UNION ALL
      SELECT (SELECT min(job) FROM ${table} WHERE job > names.job) FROM names WHERE names.job IS NOT NULL
    )
    SELECT job FROM names WHERE job IS NOT NULL`
}

/** The part of a prepared statement the store uses, typed by its parameters and row shape. */
export interface Query<P extends unknown[], R = unknown> {
  run(...params: P): Database.RunResult
  get(...params: P): R | undefined
  all(...params: P): R[]
}

export function prepareStatements(db: Database.Database) {
  const prepare = <P extends unknown[], R = unknown>(sql: string): Query<P, R> => db.prepare<P, R>(sql)
  /** For single-column queries: rows are the column's values. */
  const column = <P extends unknown[], R>(sql: string): Query<P, R> => db.prepare<P, R>(sql).pluck()
  return {
    registerInstance: prepare<[{ id: string; host: string; pid: number; now: number }]>(
      `INSERT INTO instances (id, host, pid, started_at, heartbeat_at, stopped_at)
       VALUES (@id, @host, @pid, @now, @now, NULL)
       ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = excluded.started_at,
         heartbeat_at = excluded.heartbeat_at, stopped_at = NULL`,
    ),
    heartbeat: prepare<[number, string]>('UPDATE instances SET heartbeat_at = ? WHERE id = ?'),
    stopInstance: prepare<[number, string]>('UPDATE instances SET stopped_at = ? WHERE id = ?'),
    listInstances: prepare<[], InstanceRow>('SELECT * FROM instances ORDER BY started_at, id'),
    orphans: prepare<[number], OrphanRow>(
      `SELECT r.id, r.status, r.started_at, r.instance_id, coalesce(i.stopped_at, i.heartbeat_at) AS last_seen
       FROM runs r LEFT JOIN instances i ON i.id = r.instance_id
       WHERE r.active = 1 AND (i.id IS NULL OR i.stopped_at IS NOT NULL OR i.heartbeat_at < ?)
       ORDER BY +r.id`,
    ),
    interrupt: prepare<[{ id: number; finishedAt: number; message: string }]>(
      `UPDATE runs SET status = 'interrupted', finished_at = @finishedAt, duration_ms = max(0, @finishedAt - started_at),
         error_message = @message, active = 0
       WHERE id = @id`,
    ),
    deactivate: prepare<[number]>('UPDATE runs SET active = 0 WHERE id = ?'),

    seeJob: prepare<[{ name: string; now: number }]>(
      `INSERT INTO jobs (name, last_slot, paused, created_at, seen_at) VALUES (@name, NULL, 0, @now, @now)
       ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at`,
    ),
    listJobs: prepare<[], JobRow>('SELECT * FROM jobs ORDER BY name'),
    setPaused: prepare<[number, string]>('UPDATE jobs SET paused = ? WHERE name = ?'),

    claimSlot: prepare<[string, number]>('INSERT OR IGNORE INTO slot_claims (job, slot) VALUES (?, ?)'),
    /**
     * Bumps last_slot (creating the job if a claim names it first) and returns its `paused` (0 or 1).
     * Parameters: job, slot, now, now.
     */
    serveSlot: column<[job: string, slot: number, createdAt: number, seenAt: number], number>(
      `INSERT INTO jobs (name, last_slot, paused, created_at, seen_at) VALUES (?, ?, 0, ?, ?)
       ON CONFLICT (name) DO UPDATE SET last_slot = max(coalesce(last_slot, excluded.last_slot), excluded.last_slot)
       RETURNING paused`,
    ),
    holder: prepare<[string], HolderRow>(
      `SELECT r.id, r.instance_id, r.started_at, i.host, i.pid
       FROM runs r LEFT JOIN instances i ON i.id = r.instance_id
       WHERE r.job = ? AND r.active = 1 ORDER BY r.id LIMIT 1`,
    ),
    insertRun: prepare<NewRunParams>(
      `INSERT INTO runs (job, slot, "trigger", attempt, status, started_at, finished_at, detail, instance_id, active)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    /** Bound with one `FinishParams` array (better-sqlite3 spreads an array over `?` parameters). */
    finishRun: prepare<[FinishParams]>(
      `UPDATE runs SET status = ?, finished_at = ?, duration_ms = max(0, ? - started_at),
         error_message = ?, error_stack = ?, result = ?, output = ?, active = ?
       WHERE id = ?`,
    ),

    getRun: prepare<[number], RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`),
    activeRuns: prepare<[], RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE active = 1 ORDER BY +id`),
    countByStatus: prepare<[number], { status: string; n: number }>(
      'SELECT status, count(*) AS n FROM runs WHERE started_at >= ? GROUP BY +status',
    ),
    runJobs: column<[], string>(distinctJobs('runs')),
    lastRun: prepare<[string], RunRow>(
      `SELECT ${RUN_COLUMNS} FROM runs WHERE job = ? AND status <> 'running' ORDER BY id DESC LIMIT 1`,
    ),

    pruneOld: prepare<[number, number]>(
      'DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE started_at < ? AND active = 0 LIMIT ?)',
    ),
    /** The id of the newest run beyond the first `offset` of a job: it and older ones may go. */
    keepBoundary: column<[string, number], number>(
      'SELECT id FROM runs WHERE job = ? ORDER BY id DESC LIMIT 1 OFFSET ?',
    ),
    pruneBeyond: prepare<[string, number, number]>(
      'DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE job = ? AND id <= ? AND active = 0 LIMIT ?)',
    ),
    claimJobs: column<[], string>(distinctJobs('slot_claims')),
    pruneClaims: prepare<[{ job: string; before: number; limit: number }]>(
      `DELETE FROM slot_claims
       WHERE job = @job AND slot IN (SELECT slot FROM slot_claims WHERE job = @job AND slot < @before LIMIT @limit)`,
    ),
    pruneInstances: prepare<[number]>(
      `DELETE FROM instances WHERE coalesce(stopped_at, heartbeat_at) < ?
       AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.active = 1 AND runs.instance_id = instances.id)`,
    ),
  }
}

export type Statements = ReturnType<typeof prepareStatements>
