/**
 * Reading history. A job's runs are a chain from `jobs.last_run_id` through `runs.prev_id`, newest first
 * (docs/storage.md: "Schema"). A chain may end at a row pruning deleted: below it only the runs pruning
 * spared can be left (active runs and pending retries, found through their indexes). Queries across jobs stay SQL.
 */
import type Database from 'better-sqlite3'
import { RUN_COLUMNS } from '../rows.js'
import { type AttemptRecord, RUN_STATUSES, type RunFilter, type RunStatus } from '../types.js'
import { type ChainRow, type RunRow, toRun } from './rows.js'
import type { Statements } from './statements.js'

/** Statuses in the partial index `runs_status_id`; a query must repeat its condition to use it. */
const INDEXED_STATUS = "status NOT IN ('running', 'succeeded')"

/** Under this many runs since `--since`, read and sort the started_at range; above, newest first by id is cheaper. */
const SINCE_RANGE_MAX = 10_000

/**
 * The condition for a status, a literal so the planner can match a partial index; without `useIndex`
 * the status index is left out (a short started_at range is cheaper to read than every failure).
 */
function statusCondition(status: RunStatus, useIndex: boolean): string {
  // A running row is always active: the active index holds it among a handful of rows.
  if (status === 'running') return "status = 'running' AND active = 1"
  if (status === 'succeeded' || !useIndex) return `status = '${status}'`
  return `status = '${status}' AND ${INDEXED_STATUS}`
}

export class RunHistory {
  readonly #db: Database.Database
  readonly #s: Statements
  /** Prepared `listRuns` queries by SQL text: there are only a few filter shapes. */
  readonly #queries = new Map<string, Database.Statement<unknown[], RunRow>>()
  readonly #sinceRange: Database.Statement<[number, number], number>
  /** One read transaction: a walk's reads see one snapshot. */
  readonly #snapshot

  constructor(db: Database.Database, statements: Statements) {
    this.#db = db
    this.#s = statements
    this.#sinceRange = db
      .prepare<[number, number], number>('SELECT count(*) FROM (SELECT 1 FROM runs WHERE started_at >= ? LIMIT ?)')
      .pluck()
    this.#snapshot = db.transaction((work: () => unknown) => work())
  }

  list(filter: RunFilter): AttemptRecord[] {
    const limit = Math.max(0, Math.floor(filter.limit ?? 50))
    // Only known statuses are ever written (CHECK), and only these are spelled into SQL.
    if (filter.status !== undefined && !RUN_STATUSES.includes(filter.status)) return []
    // Follow mode reads new rowids; running rows are in the active index.
    if (filter.job !== undefined && filter.afterId === undefined && filter.status !== 'running') {
      return this.#snapshot(() => this.#walk(filter.job as string, filter, limit)) as AttemptRecord[]
    }
    return this.#query(filter, limit)
  }

  /** As `WHERE job = ? AND … ORDER BY id DESC LIMIT n` would return them. */
  #walk(job: string, filter: RunFilter, limit: number): AttemptRecord[] {
    if (limit === 0) return []
    const { status = null, trigger = null, since = null } = filter
    const rows = this.#s.chainRuns.all({ job, status, trigger, since, limit })
    if (rows.length < limit) {
      // The chain ended: only runs pruning spared below a deleted row can still match.
      const below = rows.at(-1)?.id ?? Number.MAX_SAFE_INTEGER
      for (const row of this.#s.sparedBefore.all(job, below)) {
        if (rows.length === limit) break
        if (
          (status === null || row.status === status) &&
          (trigger === null || row.trigger === trigger) &&
          (since === null || row.started_at >= since)
        ) {
          rows.push(row)
        }
      }
    }
    return rows.map(toRun)
  }

  /** Every run of a job, newest first: the chain down to its end, then the runs pruning spared below a deleted row. */
  *#chain(job: string): Generator<ChainRow> {
    const { chainRow } = this.#s
    let id = this.#s.jobHead.get(job) ?? null
    while (id !== null) {
      const row = chainRow.get(id)
      if (row === undefined || row.job !== job) {
        yield* this.#s.sparedBefore.all(job, id)
        return
      }
      yield row
      id = row.prev_id
    }
  }

  #query(filter: RunFilter, limit: number): AttemptRecord[] {
    const following = filter.afterId !== undefined
    // `+id` (see statements.ts): the active index for running runs, the started_at range when short.
    const shortRange = !following && filter.since !== undefined && this.#fewSince(filter.since)
    const byIndex = shortRange || (!following && filter.status === 'running')
    const where: string[] = []
    const params: unknown[] = []
    const add = (clause: string, value: unknown) => {
      where.push(clause)
      params.push(value)
    }
    if (filter.job !== undefined) add('job = ?', filter.job)
    if (filter.status !== undefined) where.push(statusCondition(filter.status, !shortRange))
    if (filter.trigger !== undefined) add('"trigger" = ?', filter.trigger)
    if (filter.since !== undefined) add('started_at >= ?', filter.since)
    if (following) add('id > ?', filter.afterId)
    params.push(limit)
    const sql =
      `SELECT ${RUN_COLUMNS} FROM runs` +
      (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
      ` ORDER BY ${byIndex ? '+id' : 'id'} ${following ? 'ASC' : 'DESC'} LIMIT ?`
    let query = this.#queries.get(sql)
    if (query === undefined) {
      query = this.#db.prepare<unknown[], RunRow>(sql)
      this.#queries.set(sql, query)
    }
    return query.all(...params).map(toRun)
  }

  #fewSince(since: number): boolean {
    return (this.#sinceRange.get(since, SINCE_RANGE_MAX) ?? 0) < SINCE_RANGE_MAX
  }

  /** Per job with runs, its newest run that is not `running`. */
  lastRuns(): Map<string, AttemptRecord> {
    return this.#snapshot(() => {
      const last = new Map<string, AttemptRecord>()
      for (const { name } of this.#s.jobHeads.all()) {
        for (const row of this.#chain(name)) {
          if (row.status === 'running') continue
          last.set(name, toRun(row))
          break
        }
      }
      return last
    }) as Map<string, AttemptRecord>
  }

  /** The run `n` links down the chain from run `from` (0: `from`), or null where the chain ends first. */
  chainStep(from: number, n: number): number | null {
    return this.#s.chainStep.get({ start: from, n }) ?? null
  }
}
