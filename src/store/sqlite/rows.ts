/**
 * Row shapes as SQLite returns them (snake_case, 0/1 for booleans) and their conversion to the
 * store's records. Kept apart from the queries so the column list lives in one place.
 */
import type { Trigger } from '../../config/types.js'
import type { InstanceRecord, InstanceRole, JobState, RunRecord, RunStatus } from '../types.js'

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
  active: number
}

/** A run with the link to the job's previous run, as chain walks read it. */
export interface ChainRow extends RunRow {
  prev_id: number | null
}

export interface JobRow {
  name: string
  last_slot: number | null
  paused: number
  paused_at: number | null
  created_at: number
  seen_at: number
  /** The job's newest run: where its chain of runs starts. */
  last_run_id: number | null
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
    active: row.active === 1,
  }
}

export function toJob(row: JobRow): JobState {
  return {
    name: row.name,
    lastSlot: row.last_slot,
    paused: row.paused === 1,
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
