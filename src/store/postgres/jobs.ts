// Jobs' rows on Postgres, on the `db` given; `syncJobs` has several statements, to run in one transaction.
import type { JobState } from '../types.js'
import { type JobRow, type Queryable, toJob } from './sql.js'

export async function syncJobs(
  db: Queryable,
  S: string,
  names: readonly string[],
  now: number,
  options: { serving?: boolean },
): Promise<JobState[]> {
  // Each name once (an upsert may not touch a row twice), in order, as every locker of jobs rows.
  const sorted = [...new Set(names)].sort()
  if (sorted.length > 0) {
    await db.query(
      `INSERT INTO ${S}.jobs (name, last_slot, paused, created_at, seen_at)
       SELECT name, NULL, false, $2, $2 FROM unnest($1::text[]) AS t(name)
       ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at`,
      [sorted, now],
    )
    if (options.serving) {
      await db.query(`UPDATE ${S}.jobs SET last_slot = $2 WHERE name = ANY($1::text[]) AND last_slot IS NULL`, [
        sorted,
        now,
      ])
    }
  }
  return listJobs(db, S)
}

export async function listJobs(db: Queryable, S: string): Promise<JobState[]> {
  const { rows } = await db.query<JobRow>(`SELECT * FROM ${S}.jobs ORDER BY name COLLATE "C"`)
  return rows.map(toJob)
}

/** Pausing keeps the instant of a pause already under way; resuming clears it. False for an unknown job. */
export async function setPaused(db: Queryable, S: string, job: string, paused: boolean, now: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE ${S}.jobs SET paused = $1,
       paused_at = CASE WHEN NOT $1 THEN NULL WHEN paused THEN paused_at ELSE $3::bigint END
     WHERE name = $2`,
    [paused, job, now],
  )
  return (rowCount ?? 0) > 0
}
