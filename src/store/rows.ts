/**
 * Rows of `runs`, `jobs` and `instances` as both drivers return them (snake_case), and their records.
 * Booleans differ: SQLite returns 0/1, Postgres true/false, so each store builds `rowReader` for its
 * flags. Ids and instants are numbers in both (Postgres parses int8 as a number, postgres/index.ts).
 */
import type { Trigger } from '../config/types.js'
import type {
  AttemptRecord,
  InstanceRecord,
  InstanceRole,
  JobState,
  RunHolder,
  RunOutcome,
  RunStatus,
} from './types.js'

/** An outcome as the `runs` row keeps it (`finishRun`), before the run's id is added: `active` for `codeDone`. */
export type FinishedRun<Flag> = Omit<Required<RunOutcome>, 'codeDone'> & { active: Flag }

/** `RunOutcome` with nulls for what it leaves out, `active` as `flag` spells it. */
export function finishedRun<Flag>(outcome: RunOutcome, flag: (set: boolean) => Flag): FinishedRun<Flag> {
  return {
    status: outcome.status,
    finishedAt: outcome.finishedAt,
    errorMessage: outcome.errorMessage ?? null,
    errorStack: outcome.errorStack ?? null,
    result: outcome.result ?? null,
    output: outcome.output ?? null,
    detail: outcome.detail ?? null,
    active: flag(!outcome.codeDone),
    retryAt: outcome.retryAt ?? null,
  }
}

/** The run holding a job (overlap), with its instance's host and pid. */
export interface HolderRow {
  id: number
  instance_id: string
  started_at: number
  host: string | null
  pid: number | null
}

export function toHolder(row: HolderRow): RunHolder {
  return { runId: row.id, instanceId: row.instance_id, host: row.host, pid: row.pid, startedAt: row.started_at }
}

export interface RunRow<Flag> {
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
  active: Flag
}

export interface JobRow<Flag> {
  name: string
  last_slot: number | null
  paused: Flag
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

/** SQL: the owner `i` of run `r` (joined on `r.instance_id`) will never finish it: stopped, reaped, or unknown. */
export const OWNER_GONE = '(i.id IS NULL OR i.stopped_at IS NOT NULL OR i.reaped_at IS NOT NULL)'

/** Columns of `runs` read into a `RunRow`; `trigger` is an SQL keyword and must stay quoted. */
export const RUN_COLUMNS =
  'id, job, slot, "trigger", attempt, status, started_at, finished_at, duration_ms, error_message, error_stack, ' +
  'result, output, detail, instance_id, active'

/** The conversions for a driver that returns boolean columns as `Flag`. */
export function rowReader<Flag>(isSet: (value: Flag) => boolean) {
  return {
    toRun: (row: RunRow<Flag>): AttemptRecord => ({
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
      active: isSet(row.active),
    }),
    toJob: (row: JobRow<Flag>): JobState => ({
      name: row.name,
      lastSlot: row.last_slot,
      paused: isSet(row.paused),
      pausedAt: row.paused_at,
      createdAt: row.created_at,
      seenAt: row.seen_at,
    }),
    toInstance: (row: InstanceRow): InstanceRecord => ({
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
    }),
  }
}
