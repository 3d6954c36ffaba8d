/**
 * The few shapes the Postgres store needs from the driver, and the statements shared by its parts.
 * Every query is sent unnamed (no server-side prepared statement outlives it), so the store works
 * through PgBouncer in transaction mode.
 */
import type { Trigger } from '../../config/types.js'
import type { InstanceRecord, InstanceRole, JobState, RunRecord, RunStatus } from '../types.js'

export interface Queryable {
  query<R extends object = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>
}

export interface RunRow {
  id: number
  job: string
  slot: number
  trigger: Trigger
  attempt: number
  status: RunStatus
  started_at: number
  finished_at: number | null
  duration_ms: number | null
  error_message: string | null
  error_stack: string | null
  result: string | null
  output: string | null
  detail: string | null
  instance_id: string
  active: boolean
}

export interface JobRow {
  name: string
  last_slot: number | null
  paused: boolean
  paused_at: number | null
  created_at: number
  seen_at: number
}

export interface InstanceRow {
  id: string
  role: InstanceRole
  host: string
  pid: number
  started_at: number
  heartbeat_at: number
  stopped_at: number | null
  process_start: number | null
  reaped_at: number | null
  config_hash: string | null
  clock_offset_ms: number | null
}

/** Columns of `runs`, spelled once; `trigger` is an SQL keyword and must stay quoted. */
export const RUN_COLUMNS =
  'id, job, slot, "trigger", attempt, status, started_at, finished_at, duration_ms, error_message, error_stack, ' +
  'result, output, detail, instance_id, active'

export function toRun(row: RunRow): RunRecord {
  return {
    id: row.id,
    job: row.job,
    slot: row.slot,
    trigger: row.trigger,
    attempt: row.attempt,
    status: row.status,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    durationMs: row.duration_ms,
    errorMessage: row.error_message,
    errorStack: row.error_stack,
    result: row.result,
    output: row.output,
    detail: row.detail,
    instanceId: row.instance_id,
    active: row.active,
  }
}

export function toJob(row: JobRow): JobState {
  return {
    name: row.name,
    lastSlot: row.last_slot,
    paused: row.paused,
    pausedAt: row.paused_at,
    createdAt: row.created_at,
    seenAt: row.seen_at,
  }
}

export function toInstance(row: InstanceRow): InstanceRecord {
  return {
    id: row.id,
    role: row.role,
    host: row.host,
    pid: row.pid,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    stoppedAt: row.stopped_at,
    processStart: row.process_start,
    reapedAt: row.reaped_at,
    configHash: row.config_hash,
    clockOffsetMs: row.clock_offset_ms,
  }
}

/**
 * Take `count` new run ids inside the caller's transaction, in commit order. The ids come from a
 * sequence, but a sequence hands out numbers at insert time, not at commit: a transaction that took
 * id 10 and commits after one that took 11 would appear behind a cursor that has passed 11. Taking
 * them under a transaction-scoped advisory lock, held until commit, makes a later id commit later.
 * Callers take ids as the last step before committing, so the lock is held for one insert.
 */
export async function newRunIds(db: Queryable, S: string, lockKey: number, count: number): Promise<number[]> {
  await db.query("SELECT pg_advisory_xact_lock(hashtext('crons runs'), $1)", [lockKey])
  const { rows } = await db.query<{ id: number }>(
    `SELECT nextval('${S}.runs_id_seq') AS id FROM generate_series(1, $1)`,
    [count],
  )
  return rows.map((row) => row.id)
}

/** Insert runs with their ids, one statement for all of them. */
export async function insertRuns(db: Queryable, S: string, runs: readonly NewRunRow[]): Promise<void> {
  if (runs.length === 0) return
  const column = <K extends keyof NewRunRow>(key: K) => runs.map((run) => run[key])
  await db.query(
    `INSERT INTO ${S}.runs (id, job, slot, "trigger", attempt, status, started_at, finished_at, detail, instance_id, active)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::int[], $6::text[], $7::bigint[],
       $8::bigint[], $9::text[], $10::text[], $11::boolean[])`,
    [
      column('id'),
      column('job'),
      column('slot'),
      column('trigger'),
      column('attempt'),
      column('status'),
      column('startedAt'),
      column('finishedAt'),
      column('detail'),
      column('instanceId'),
      column('active'),
    ],
  )
}

export interface NewRunRow {
  id: number
  job: string
  slot: number
  trigger: Trigger
  attempt: number
  status: RunStatus
  startedAt: number
  finishedAt: number | null
  detail: string | null
  instanceId: string
  active: boolean
}
