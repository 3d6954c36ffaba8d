// Instances on Postgres. Each function runs on the `db` given: the pool for one statement, a transaction for several.
import { interruptedMessage } from '../messages.js'
import { type InstanceRow, OWNER_GONE, RUN_COLUMNS } from '../rows.js'
import type { Heartbeat, InstanceFacts, InstanceRecord, NewInstance, PendingRetry, ReapedRuns } from '../types.js'
import { type Queryable, type RunRow, toInstance, toRun } from './sql.js'

/** An instance once reaped is never revived: re-registering it changes nothing. */
export async function registerInstance(db: Queryable, S: string, instance: NewInstance): Promise<void> {
  const { id, role, host, pid, processStart, now, configHash } = instance
  await db.query(
    `INSERT INTO ${S}.instances (id, role, host, pid, process_start, started_at, heartbeat_at, stopped_at,
       reaped_at, config_hash, clock_offset_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $6, NULL, NULL, $7, NULL)
     ON CONFLICT (id) DO UPDATE SET role = excluded.role, host = excluded.host, pid = excluded.pid,
       process_start = excluded.process_start, started_at = excluded.started_at,
       heartbeat_at = excluded.heartbeat_at, stopped_at = NULL, config_hash = excluded.config_hash,
       clock_offset_ms = NULL
     WHERE instances.reaped_at IS NULL`,
    [id, role, host, pid, processStart ?? null, now, configHash ?? null],
  )
}

export async function updateInstance(
  db: Queryable,
  S: string,
  instanceId: string,
  facts: InstanceFacts,
): Promise<void> {
  const setHash = facts.configHash !== undefined
  const setOffset = facts.clockOffsetMs !== undefined
  if (!setHash && !setOffset) return
  await db.query(
    `UPDATE ${S}.instances SET
       config_hash = CASE WHEN $2::boolean THEN $3::text ELSE config_hash END,
       clock_offset_ms = CASE WHEN $4::boolean THEN $5::bigint ELSE clock_offset_ms END
     WHERE id = $1 AND reaped_at IS NULL`,
    [instanceId, setHash, facts.configHash ?? null, setOffset, facts.clockOffsetMs ?? null],
  )
}

/** One statement: the renewal and what else the instance must know; the sub-selects read the snapshot before it. */
export async function heartbeat(db: Queryable, S: string, instanceId: string, now: number): Promise<Heartbeat> {
  const { rows } = await db.query<Omit<Heartbeat, 'peers'> & { peers: InstanceRow[] }>(
    `WITH renewed AS (
       UPDATE ${S}.instances SET heartbeat_at = $1 WHERE id = $2 AND reaped_at IS NULL RETURNING id
     )
     SELECT EXISTS (SELECT 1 FROM renewed) AS held,
       coalesce((SELECT json_agg(json_build_object('runId', id, 'message', cancel_request) ORDER BY id)
         FROM ${S}.runs WHERE active AND instance_id = $2 AND status = 'running' AND cancel_request IS NOT NULL),
         '[]') AS "cancelRequests",
       coalesce((SELECT json_agg(i ORDER BY started_at, id) FROM ${S}.instances i
         WHERE id <> $2 AND stopped_at IS NULL AND reaped_at IS NULL), '[]') AS peers,
       EXISTS (SELECT 1 FROM ${S}.runs r LEFT JOIN ${S}.instances i ON i.id = r.instance_id
         WHERE r.active AND ${OWNER_GONE}) AS "orphanedRuns",
       coalesce((SELECT json_agg(json_build_object('runId', r.id, 'job', r.job, 'slot', r.slot,
           'trigger', r."trigger", 'attempt', r.attempt, 'retryAt', r.retry_at) ORDER BY r.retry_at, r.id)
         FROM ${S}.runs r LEFT JOIN ${S}.instances i ON i.id = r.instance_id
         WHERE r.retry_at IS NOT NULL AND ${OWNER_GONE}), '[]') AS "orphanedRetries"`,
    [now, instanceId],
  )
  const [row] = rows
  if (row === undefined) throw new Error('the heartbeat returned no row')
  return { ...row, peers: row.peers.map(toInstance) }
}

export async function stopInstance(db: Queryable, S: string, instanceId: string, now: number): Promise<void> {
  await db.query(`UPDATE ${S}.instances SET stopped_at = $1 WHERE id = $2`, [now, instanceId])
  await db.query(`UPDATE ${S}.runs SET active = false WHERE active AND instance_id = $1 AND status <> 'running'`, [
    instanceId,
  ])
}

export async function listInstances(db: Queryable, S: string): Promise<InstanceRecord[]> {
  const { rows } = await db.query<InstanceRow>(`SELECT * FROM ${S}.instances ORDER BY started_at, id`)
  return rows.map(toInstance)
}

export async function orphanedRetries(db: Queryable, S: string): Promise<PendingRetry[]> {
  const { rows } = await db.query<PendingRetry>(
    `SELECT r.id AS "runId", r.job, r.slot, r."trigger", r.attempt, r.retry_at AS "retryAt"
     FROM ${S}.runs r LEFT JOIN ${S}.instances i ON i.id = r.instance_id
     WHERE r.retry_at IS NOT NULL AND ${OWNER_GONE}
     ORDER BY r.retry_at, r.id`,
  )
  return rows
}

/** The run columns of `r`, for an UPDATE … FROM whose joined table has columns of the same names. */
const QUALIFIED_RUN_COLUMNS = RUN_COLUMNS.split(', ')
  .map((column) => `r.${column}`)
  .join(', ')

type OrphanRow = { id: number; status: string; started_at: number; instance_id: string; last_seen: number | null }

/** In one transaction: orphans are locked (`FOR UPDATE`), so a second host reaping at once finds them inactive. */
export async function reapDeadInstances(
  db: Queryable,
  S: string,
  now: number,
  ttlMs: number,
  dead: readonly string[],
): Promise<ReapedRuns> {
  const cutoff = now - ttlMs
  // Marked first (fencing): from this commit on, their writes about runs are refused.
  await db.query(
    `UPDATE ${S}.instances SET reaped_at = $1
     WHERE stopped_at IS NULL AND reaped_at IS NULL AND (heartbeat_at < $2 OR id = ANY($3::text[]))`,
    [now, cutoff, dead],
  )
  const { rows: orphans } = await db.query<OrphanRow>(
    `SELECT r.id, r.status, r.started_at, r.instance_id, coalesce(i.stopped_at, i.heartbeat_at) AS last_seen
     FROM ${S}.runs r LEFT JOIN ${S}.instances i ON i.id = r.instance_id
     WHERE r.active AND (${OWNER_GONE} OR i.heartbeat_at < $1 OR i.id = ANY($2::text[]))
     ORDER BY r.id FOR UPDATE OF r`,
    [cutoff, dead],
  )
  const running = orphans.filter((o) => o.status === 'running')
  const finished = orphans.filter((o) => o.status !== 'running')
  let interrupted: RunRow[] = []
  if (running.length > 0) {
    // The last instant the instance was alive is the best estimate of when the run died.
    const finishedAt = running.map((o) => Math.min(now, Math.max(o.started_at, o.last_seen ?? now)))
    const { rows } = await db.query<RunRow>(
      `UPDATE ${S}.runs r SET status = 'interrupted', finished_at = o.finished_at,
         duration_ms = greatest(0, o.finished_at - r.started_at), error_message = o.message, active = false
       FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS o(id, finished_at, message)
       WHERE r.id = o.id RETURNING ${QUALIFIED_RUN_COLUMNS}`,
      [running.map((o) => o.id), finishedAt, running.map((o) => interruptedMessage(o.instance_id))],
    )
    interrupted = rows
  }
  let released: RunRow[] = []
  if (finished.length > 0) {
    const { rows } = await db.query<RunRow>(
      `UPDATE ${S}.runs SET active = false WHERE id = ANY($1::bigint[]) RETURNING ${RUN_COLUMNS}`,
      [finished.map((o) => o.id)],
    )
    released = rows
  }
  const byId = (a: RunRow, b: RunRow) => a.id - b.id
  return { interrupted: interrupted.sort(byId).map(toRun), released: released.sort(byId).map(toRun) }
}
