// What the Postgres store needs from the driver, and the statements its parts share. Unnamed queries: PgBouncer-safe.
import { rowReader, type JobRow as SharedJobRow, type RunRow as SharedRunRow } from '../rows.js'
import type { AttemptRecord } from '../types.js'

export interface Queryable {
  query<R extends object = Record<string, unknown>>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>
}

export type RunRow = SharedRunRow<boolean>
export type JobRow = SharedJobRow<boolean>

export const { toRun, toJob, toInstance } = rowReader<boolean>((value) => value)

// New run ids in commit order: a sequence hands them out before commit, so a cursor past 11 could miss a late 10.
// Taken under a lock held until commit, as late as callers can (docs/storage.md: "What is in the schema").
export async function newRunIds(db: Queryable, S: string, lockKey: number, count: number): Promise<number[]> {
  await db.query("SELECT pg_advisory_xact_lock(hashtext('crons runs'), $1)", [lockKey])
  const { rows } = await db.query<{ id: number }>(
    `SELECT nextval('${S}.runs_id_seq') AS id FROM generate_series(1, $1)`,
    [count],
  )
  return rows.map((row) => row.id)
}

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

/** A run as first written: its outcome's columns come later. */
export type NewRunRow = Omit<AttemptRecord, 'durationMs' | 'errorMessage' | 'errorStack' | 'result' | 'output'>
