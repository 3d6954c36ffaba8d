/** Every fixed query of the SQLite store, prepared once per connection: the hot path only binds and steps. */
import type Database from 'better-sqlite3'
import { type HolderRow, type InstanceRow, OWNER_GONE, RUN_COLUMNS } from '../rows.js'
import type { AttemptRecord, CancelRequest, NewInstance, PendingRetry } from '../types.js'
import type { ChainRow, FinishedRun, JobRow, RunRow } from './rows.js'

/*
 * `ORDER BY +column`: without ANALYZE statistics SQLite likes to walk an index in ORDER BY or GROUP BY
 * order, filtering every row; the unary `+` makes it search the active index or started_at range instead.
 */

/** An active run whose instance is dead (or unknown), for reaping. */
interface OrphanRow {
  id: number
  status: string
  started_at: number
  instance_id: string
  /** Null when the instance has no row. */
  last_seen: number | null
}

export type ClaimHolderRow = Pick<HolderRow, 'id' | 'instance_id' | 'started_at'> & { job: string }

/** The columns of a new run (`insertRuns` takes a JSON array of names in `jobs` and ignores `job`). */
export type NewRun = Pick<
  AttemptRecord,
  'job' | 'slot' | 'trigger' | 'attempt' | 'status' | 'startedAt' | 'finishedAt' | 'detail' | 'instanceId'
> & { active: 0 | 1 }

/** A `set…` flag of 0 keeps its column. */
interface InstanceUpdate {
  id: string
  setConfigHash: 0 | 1
  configHash: string | null
  setClockOffset: 0 | 1
  clockOffsetMs: number | null
}

/** A `listRuns` filter for a chain walk; null matches anything. */
interface ChainFilter {
  job: string
  status: string | null
  trigger: string | null
  since: number | null
  limit: number
}

/** The update of `finishRun` and its forms for several runs, before their WHERE. */
const FINISH = `UPDATE runs SET status = @status, finished_at = @finishedAt,
  duration_ms = max(0, @finishedAt - started_at), error_message = @errorMessage, error_stack = @errorStack,
  result = @result, output = @output, detail = coalesce(@detail, detail), active = @active, retry_at = @retryAt`

/** Whether run `r` matches a `ChainFilter` (1 or 0). */
const CHAIN_MATCH =
  '((@status IS NULL OR r.status = @status) AND (@trigger IS NULL OR r."trigger" = @trigger) ' +
  'AND (@since IS NULL OR r.started_at >= @since))'

interface Query<P extends unknown[], R = unknown> {
  run(...params: P): Database.RunResult
  get(...params: P): R | undefined
  all(...params: P): R[]
}

export function prepareStatements(db: Database.Database) {
  const prepare = <P extends unknown[], R = unknown>(sql: string): Query<P, R> => db.prepare<P, R>(sql)
  const column = <P extends unknown[], R>(sql: string): Query<P, R> => db.prepare<P, R>(sql).pluck()
  return {
    registerInstance: prepare<[Required<NewInstance>]>(
      `INSERT INTO instances (id, role, host, pid, process_start, started_at, heartbeat_at, stopped_at, reaped_at,
         config_hash, clock_offset_ms)
       VALUES (@id, @role, @host, @pid, @processStart, @now, @now, NULL, NULL, @configHash, NULL)
       ON CONFLICT (id) DO UPDATE SET role = excluded.role, host = excluded.host, pid = excluded.pid,
         process_start = excluded.process_start, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,
         stopped_at = NULL, config_hash = excluded.config_hash, clock_offset_ms = NULL
       WHERE instances.reaped_at IS NULL`,
    ),
    updateInstance: prepare<[InstanceUpdate]>(
      `UPDATE instances SET
         config_hash = CASE WHEN @setConfigHash = 1 THEN @configHash ELSE config_hash END,
         clock_offset_ms = CASE WHEN @setClockOffset = 1 THEN @clockOffsetMs ELSE clock_offset_ms END
       WHERE id = @id AND reaped_at IS NULL`,
    ),
    /** Refused (no row changed) once the instance was reaped. */
    heartbeat: prepare<[number, string]>('UPDATE instances SET heartbeat_at = ? WHERE id = ? AND reaped_at IS NULL'),
    markReaped: prepare<[now: number, ids: string]>(
      `UPDATE instances SET reaped_at = ? FROM json_each(?) j
       WHERE instances.id = j.value AND instances.stopped_at IS NULL AND instances.reaped_at IS NULL`,
    ),
    /** Of the runs `ids` (a JSON array), those whose owner was reaped. */
    fencedRuns: column<[ids: string], number>(
      `SELECT r.id FROM json_each(?) j JOIN runs r ON r.id = j.value JOIN instances i ON i.id = r.instance_id
       WHERE i.reaped_at IS NOT NULL`,
    ),
    /** The job's latest run, if it is the record of a pause stretch still open (no run after it). */
    openPause: prepare<[job: string], { id: number; detail: string }>(
      `SELECT r.id, r.detail FROM jobs j JOIN runs r ON r.id = j.last_run_id
       WHERE j.name = ? AND r.status = 'skipped' AND r.detail LIKE '{"paused":true,%'`,
    ),
    extendPause: prepare<[{ id: number; detail: string; slot: number; job: string }]>(
      `UPDATE runs SET detail = @detail, finished_at = max(finished_at, @slot) WHERE id = @id`,
    ),
    raiseLastSlot: prepare<[slot: number, sameSlot: number, job: string]>(
      'UPDATE jobs SET last_slot = max(coalesce(last_slot, ?), ?) WHERE name = ?',
    ),
    takeRetry: prepare<[number]>('UPDATE runs SET retry_at = NULL WHERE id = ? AND retry_at IS NOT NULL'),
    orphanedRetries: prepare<[], PendingRetry>(
      `SELECT r.id AS runId, r.job, r.slot, r."trigger", r.attempt, r.retry_at AS retryAt
       FROM runs r LEFT JOIN instances i ON i.id = r.instance_id
       WHERE r.retry_at IS NOT NULL AND ${OWNER_GONE}
       ORDER BY r.retry_at`,
    ),
    peers: prepare<[instanceId: string], InstanceRow>(
      'SELECT * FROM instances WHERE id <> ? AND stopped_at IS NULL AND reaped_at IS NULL ORDER BY started_at, id',
    ),
    anyOrphanedRuns: column<[], number>(
      `SELECT EXISTS (SELECT 1 FROM runs r LEFT JOIN instances i ON i.id = r.instance_id
         WHERE r.active = 1 AND ${OWNER_GONE})`,
    ),
    anyReaped: column<[], number>('SELECT count(*) FROM instances WHERE reaped_at IS NOT NULL'),
    expiredInstances: column<[cutoff: number], string>(
      'SELECT id FROM instances WHERE stopped_at IS NULL AND reaped_at IS NULL AND heartbeat_at < ?',
    ),
    stopInstance: prepare<[number, string]>('UPDATE instances SET stopped_at = ? WHERE id = ?'),
    listInstances: prepare<[], InstanceRow>('SELECT * FROM instances ORDER BY started_at, id'),
    orphans: prepare<[cutoff: number, dead: string], OrphanRow>(
      `SELECT r.id, r.status, r.started_at, r.instance_id, coalesce(i.stopped_at, i.heartbeat_at) AS last_seen
       FROM runs r LEFT JOIN instances i ON i.id = r.instance_id
       WHERE r.active = 1 AND (${OWNER_GONE}
         OR i.heartbeat_at < ? OR i.id IN (SELECT value FROM json_each(?)))
       ORDER BY +r.id`,
    ),
    interrupt: prepare<[{ id: number; finishedAt: number; message: string }]>(
      `UPDATE runs SET status = 'interrupted', finished_at = @finishedAt, duration_ms = max(0, @finishedAt - started_at),
         error_message = @message, active = 0
       WHERE id = @id`,
    ),
    deactivate: prepare<[number]>('UPDATE runs SET active = 0 WHERE id = ?'),
    releaseInstance: prepare<[string]>(
      `UPDATE runs SET active = 0 WHERE active = 1 AND instance_id = ? AND status <> 'running'`,
    ),

    seeJob: prepare<[{ name: string; now: number }]>(
      `INSERT INTO jobs (name, last_slot, paused, created_at, seen_at) VALUES (@name, NULL, 0, @now, @now)
       ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at`,
    ),
    listJobs: prepare<[], JobRow>('SELECT * FROM jobs ORDER BY name'),
    serveFrom: prepare<[{ names: string; from: number }]>(
      'UPDATE jobs SET last_slot = @from FROM json_each(@names) j WHERE jobs.name = j.value AND last_slot IS NULL',
    ),
    setPaused: prepare<[{ name: string; paused: 0 | 1; now: number }]>(
      `UPDATE jobs SET paused = @paused,
         paused_at = CASE WHEN @paused = 0 THEN NULL WHEN paused = 1 THEN paused_at ELSE @now END
       WHERE name = @name`,
    ),

    claimSlot: prepare<[slot: number, job: string]>('INSERT OR IGNORE INTO slot_claims (slot, job) VALUES (?, ?)'),
    /** `claimSlot` for several jobs of one slot (`jobs`: a JSON array): the claims won. */
    claimSlots: column<[{ slot: number; jobs: string }], string>(
      `INSERT OR IGNORE INTO slot_claims (slot, job) SELECT @slot, value FROM json_each(@jobs) RETURNING job`,
    ),
    /** `claimSlots` when the slot has no claim yet: no RETURNING, which costs as much again (bench/FINDINGS.md). */
    claimFreeSlot: prepare<[{ slot: number; jobs: string }]>(
      'INSERT OR IGNORE INTO slot_claims (slot, job) SELECT @slot, value FROM json_each(@jobs)',
    ),
    slotClaimed: column<[slot: number], 1>('SELECT 1 FROM slot_claims WHERE slot = ? LIMIT 1'),
    pausedJobs: column<[], string>('SELECT name FROM jobs WHERE paused = 1'),
    /** Oldest first: the first of each job is its holder. */
    activeHolders: prepare<[], ClaimHolderRow>(
      'SELECT job, id, instance_id, started_at FROM runs WHERE active = 1 ORDER BY +id',
    ),
    holder: prepare<[string], HolderRow>(
      `SELECT r.id, r.instance_id, r.started_at, i.host, i.pid
       FROM runs r LEFT JOIN instances i ON i.id = r.instance_id
       WHERE r.job = ? AND r.active = 1 ORDER BY r.id LIMIT 1`,
    ),
    insertRun: prepare<[NewRun]>(
      `INSERT INTO runs (job, slot, "trigger", attempt, status, started_at, finished_at, detail, instance_id, active, prev_id)
       VALUES (@job, @slot, @trigger, @attempt, @status, @startedAt, @finishedAt, @detail, @instanceId, @active,
         (SELECT last_run_id FROM jobs WHERE name = @job))`,
    ),
    /** `insertRun` for several distinct jobs (`jobs`); ids are consecutive in array order. */
    insertRuns: prepare<[NewRun & { jobs: string }]>(
      `INSERT INTO runs (job, slot, "trigger", attempt, status, started_at, finished_at, detail, instance_id, active, prev_id)
       SELECT value, @slot, @trigger, @attempt, @status, @startedAt, @finishedAt, @detail, @instanceId, @active,
         (SELECT last_run_id FROM jobs WHERE name = value)
       FROM json_each(@jobs)`,
    ),
    /** `linkClaim` for a range of runs of distinct jobs; fewer changes than rows: unknown jobs. */
    linkClaims: prepare<[{ first: number; last: number }]>(
      `UPDATE jobs SET last_run_id = r.id, last_slot = max(coalesce(last_slot, r.slot), r.slot)
       FROM (SELECT id, job, slot FROM runs WHERE id BETWEEN @first AND @last) r WHERE jobs.name = r.job`,
    ),
    addClaimedJobs: prepare<[{ first: number; last: number }]>(
      `INSERT INTO jobs (name, last_slot, paused, created_at, seen_at, last_run_id)
       SELECT job, slot, 0, started_at, started_at, id FROM runs r WHERE r.id BETWEEN @first AND @last
         AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.name = r.job)`,
    ),
    linkRun: prepare<[runId: number, job: string]>('UPDATE jobs SET last_run_id = ? WHERE name = ?'),
    /** `linkRun` that also raises last_slot (never lowers it). */
    linkClaim: prepare<[runId: number, slot: number, sameSlot: number, job: string]>(
      'UPDATE jobs SET last_run_id = ?, last_slot = max(coalesce(last_slot, ?), ?) WHERE name = ?',
    ),
    addJob: prepare<[job: string, lastSlot: number | null, createdAt: number, seenAt: number, runId: number]>(
      `INSERT INTO jobs (name, last_slot, paused, created_at, seen_at, last_run_id) VALUES (?, ?, 0, ?, ?, ?)`,
    ),
    finishRun: prepare<[FinishedRun & { id: number }]>(`${FINISH} WHERE id = @id`),
    /** `finishRun` for several runs (`ids`: a JSON array) given the same outcome. */
    finishRuns: prepare<[FinishedRun & { ids: string }]>(`${FINISH} FROM json_each(@ids) j WHERE runs.id = j.value`),
    /** `finishRuns` for every id from `first` to `last`: cheaper than a JSON array (bench/FINDINGS.md). */
    finishRange: prepare<[FinishedRun & { first: number; last: number }]>(
      `${FINISH} WHERE id >= @first AND id <= @last`,
    ),
    deactivateRuns: prepare<[ids: string]>('UPDATE runs SET active = 0 FROM json_each(?) j WHERE runs.id = j.value'),

    getRun: prepare<[number], RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`),
    requestCancel: prepare<[message: string, id: number]>(
      "UPDATE runs SET cancel_request = ? WHERE id = ? AND status = 'running'",
    ),
    cancelRequests: prepare<[instanceId: string], CancelRequest>(
      `SELECT id AS runId, cancel_request AS message FROM runs
       WHERE active = 1 AND instance_id = ? AND status = 'running' AND cancel_request IS NOT NULL ORDER BY +id`,
    ),
    activeRuns: prepare<[], RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE active = 1 ORDER BY +id`),
    countByStatus: prepare<[number], { status: string; n: number }>(
      'SELECT status, count(*) AS n FROM runs WHERE started_at >= ? GROUP BY +status',
    ),
    chainRow: prepare<[number], ChainRow>(`SELECT ${RUN_COLUMNS}, prev_id FROM runs WHERE id = ?`),
    /** Up to `limit` matching runs of a job, newest first, walking its chain inside SQLite (cheaper than from JS). */
    chainRuns: prepare<[ChainFilter], RunRow>(
      `WITH RECURSIVE chain(run, prev, seen, hit) AS (
         SELECT r.id, r.prev_id, 0, ${CHAIN_MATCH}
         FROM runs r WHERE r.id = (SELECT last_run_id FROM jobs WHERE name = @job)
         UNION ALL
         SELECT r.id, r.prev_id, chain.seen + chain.hit, ${CHAIN_MATCH}
         FROM chain JOIN runs r ON r.id = chain.prev WHERE chain.seen + chain.hit < @limit
       )
       SELECT ${RUN_COLUMNS} FROM chain JOIN runs ON runs.id = chain.run WHERE chain.hit
       ORDER BY chain.run DESC LIMIT @limit`,
    ),
    jobHead: column<[string], number | null>('SELECT last_run_id FROM jobs WHERE name = ?'),
    /**
     * Below a chain's break (a deleted row) only the runs pruning spares are left: active runs (found
     * through the active index) and failed attempts whose retry is pending (through the retry index).
     */
    sparedBefore: prepare<[job: string, id: number], ChainRow>(
      `WITH below(name, upto) AS (SELECT ?, ?)
       SELECT ${RUN_COLUMNS}, prev_id FROM below, runs WHERE job = name AND active = 1 AND id < upto
       UNION ALL
       SELECT ${RUN_COLUMNS}, prev_id FROM below, runs INDEXED BY runs_retry_at
       WHERE retry_at IS NOT NULL AND active = 0 AND job = name AND id < upto
       ORDER BY id DESC`,
    ),
    jobHeads: prepare<[], { name: string; last_run_id: number }>(
      'SELECT name, last_run_id FROM jobs WHERE last_run_id IS NOT NULL ORDER BY name',
    ),
    firstRunId: column<[], number | null>('SELECT min(id) FROM runs'),
    /** Never a run pruning spares: active, or a failed attempt whose retry is pending. */
    pruneOld: prepare<[number, number]>(
      `DELETE FROM runs WHERE id IN (
         SELECT id FROM runs WHERE started_at < ? AND active = 0 AND retry_at IS NULL LIMIT ?)`,
    ),
    /** The run `n` links down a chain from run `start` (0: `start` itself). */
    chainStep: column<[{ start: number; n: number }], number>(
      `WITH RECURSIVE chain(id, n) AS (
         SELECT @start, 0
         UNION ALL
         SELECT runs.prev_id, chain.n + 1 FROM chain JOIN runs ON runs.id = chain.id WHERE chain.n < @n
       )
       SELECT chain.id FROM chain JOIN runs ON runs.id = chain.id WHERE chain.n = @n`,
    ),
    relinkRun: prepare<[prevId: number | null, id: number]>('UPDATE runs SET prev_id = ? WHERE id = ?'),
    /** Only if the head is still where the caller saw it (another process may insert). */
    relinkJob: prepare<[to: number | null, job: string, from: number | null]>(
      'UPDATE jobs SET last_run_id = ? WHERE name = ? AND last_run_id IS ?',
    ),
    pruneClaims: prepare<[number, number]>(
      `DELETE FROM slot_claims
       WHERE (slot, job) IN (SELECT slot, job FROM slot_claims WHERE slot < ? LIMIT ?)`,
    ),
    pruneInstances: prepare<[number]>(
      `DELETE FROM instances WHERE coalesce(stopped_at, heartbeat_at) < ?
       AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.active = 1 AND runs.instance_id = instances.id)`,
    ),
  }
}

export type Statements = ReturnType<typeof prepareStatements>
