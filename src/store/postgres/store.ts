/**
 * The Postgres `Store`: the same contract as the SQLite store, for schedulers on many hosts sharing
 * one database. Every write that must be atomic is one transaction on a pooled connection; reads
 * are single statements. Instants are the caller's (on the server's clock, see `clockOffset`).
 *
 * Outcomes (`finishRun`, `settleRun`) are queued and written together on the next turn of the event
 * loop, in call order, by a few statements in one transaction; their promises resolve once it has
 * committed. Every other method first waits for the queued outcomes, so nothing read or written
 * through this store misses an outcome a caller has already handed over.
 */
import type pg from 'pg'
import { CronsError } from '../../errors.js'
import { finishedRun } from '../rows.js'
import type {
  BeginOutcome,
  BeginRun,
  ClaimOutcome,
  Heartbeat,
  InstanceFacts,
  InstanceRecord,
  JobState,
  NewInstance,
  PendingRetry,
  ReapedRuns,
  RunFilter,
  RunOutcome,
  RunRecord,
  RunStatus,
  SlotClaim,
  Store,
  StoreInfo,
} from '../types.js'
import { PgRunWriter } from './claims.js'
import { type CheckedOut, checkOut, fromPgError, type PgTarget } from './driver.js'
import {
  heartbeat,
  listInstances,
  orphanedRetries,
  reapDeadInstances,
  registerInstance,
  stopInstance,
  updateInstance,
} from './instances.js'
import { listJobs, setPaused, syncJobs } from './jobs.js'
import { OutcomeBatches, writeOutcomes } from './outcomes.js'
import { PgPruner } from './prune.js'
import { type Queryable, RUN_COLUMNS, type RunRow, toRun } from './sql.js'
import { UnansweredStarts } from './unanswered.js'

/** Deadlocks cannot happen between this store's own statements, but are retried should one occur. */
const RETRIED_CODES = new Set(['40P01', '40001'])
/**
 * Every transaction asks the server to end it if this process goes quiet in the middle of it for
 * this long (a frozen VM, SIGSTOP, an event loop blocked by a job). Otherwise the rows and slot keys
 * it holds stay locked until the process wakes, and every peer claiming those slots waits that long;
 * and a claim that wakes after its instance was reaped would commit runs nobody may finish. Shorter
 * than a lease less a heartbeat, so the server ends such a transaction before a peer reaps its
 * owner. `SET LOCAL`, in the same round trip as BEGIN: nothing outlives the transaction, so it works
 * through PgBouncer in transaction mode.
 */
const BEGIN = "BEGIN; SET LOCAL idle_in_transaction_session_timeout = '5s'"

export class PostgresStore implements Store {
  readonly location: string
  readonly #pool: pg.Pool
  readonly #target: PgTarget
  readonly #S: string
  readonly #writer: PgRunWriter
  readonly #schemaVersion: number
  #closed = false

  readonly #pruner: PgPruner
  /** Runs begun by a transaction whose COMMIT went unanswered: recorded interrupted once the store answers. */
  readonly #unanswered: UnansweredStarts

  /** Outcomes queued and written together, a transaction a turn (see the class comment). */
  readonly #outcomes = new OutcomeBatches((writes) =>
    this.#transaction((db) => writeOutcomes(db, this.#S, writes), false),
  )

  constructor(pool: pg.Pool, target: PgTarget, location: string, schemaVersion: number) {
    this.#pool = pool
    this.#target = target
    this.location = location
    this.#S = `"${target.schema}"`
    this.#schemaVersion = schemaVersion
    this.#writer = new PgRunWriter(this.#S, lockKeyOf(target.schema))
    this.#pruner = new PgPruner(this.#S, (sql, values) => this.#count(sql, values))
    this.#unanswered = new UnansweredStarts(this.#S)
  }

  // --- plumbing ---------------------------------------------------------------------------------

  async #query<R extends object>(text: string, values?: unknown[]): Promise<R[]> {
    return (await this.#db.query<R>(text, values)).rows
  }

  /** Single statements on the pool, after the queued outcomes, with the store's errors. */
  readonly #db: Queryable = {
    query: async (text, values) => {
      await this.#ready()
      try {
        return await this.#pool.query(text, values)
      } catch (error) {
        throw fromPgError(error, this.#target)
      }
    },
  }

  /**
   * `work` in one transaction on one connection; retried (a few times) on a deadlock or serialization
   * failure. `unanswered` is told what `work` returned when its COMMIT went unanswered (it may have
   * committed, while the caller is told the call failed).
   */
  async #transaction<T>(
    work: (db: Queryable) => Promise<T>,
    waitForOutcomes = true,
    unanswered?: (result: T) => void,
  ): Promise<T> {
    if (waitForOutcomes) await this.#ready()
    for (let attempt = 1; ; attempt++) {
      let held: CheckedOut
      try {
        held = await checkOut(this.#pool)
      } catch (error) {
        throw fromPgError(error, this.#target)
      }
      const { client } = held
      let broken = false
      let committing: { result: T } | undefined
      try {
        await client.query(BEGIN)
        const result = await work(client)
        committing = { result }
        await client.query('COMMIT')
        return result
      } catch (error) {
        const failure = fromPgError(held.lost ?? error, this.#target)
        if (committing !== undefined && failure.code === 'STATE_UNREACHABLE') unanswered?.(committing.result)
        // A connection that broke is dropped at once: a ROLLBACK on it would only wait to fail.
        if (failure.code === 'STATE_UNREACHABLE') broken = true
        else {
          await client.query('ROLLBACK').catch(() => {
            broken = true
          })
        }
        const code = (error as { code?: string }).code
        if (held.lost === undefined && code !== undefined && RETRIED_CODES.has(code) && attempt < 3) continue
        throw failure
      } finally {
        held.release(broken)
      }
    }
  }

  /** Resolves once every outcome handed over so far is committed (or failed). */
  #settled(): Promise<void> {
    return this.#outcomes.settled()
  }

  /**
   * Before a statement: the outcomes handed over are settled, and runs left by an unanswered COMMIT
   * recorded interrupted (a claim must not find its job held by one). Failing that, the call fails
   * as that did: on a network still silent, after one timeout rather than two.
   */
  async #ready(): Promise<void> {
    await this.#settled()
    try {
      await this.#unanswered.resolve(this.#pool)
    } catch (error) {
      throw fromPgError(error, this.#target)
    }
  }

  // --- clock --------------------------------------------------------------------------------------

  /**
   * The server's clock minus ours, from one round trip: the server's reading is taken to be at the
   * middle of it. The first query of a fresh connection pays for connecting, so the pool is warmed
   * by a first, discarded reading.
   */
  async clockOffset(hostNow: () => number = Date.now): Promise<number> {
    const read = async () => {
      const before = hostNow()
      const [row] = await this.#query<{ ms: number }>(
        'SELECT (extract(epoch from clock_timestamp()) * 1000)::float8 AS ms',
      )
      const after = hostNow()
      return { offset: (row?.ms ?? after) - (before + after) / 2, rtt: after - before }
    }
    await read()
    const second = await read()
    return Math.round(second.offset)
  }

  // --- instances (instances.ts) ------------------------------------------------------------------

  async registerInstance(instance: NewInstance): Promise<void> {
    await registerInstance(this.#db, this.#S, instance)
  }

  async updateInstance(instanceId: string, facts: InstanceFacts): Promise<void> {
    await updateInstance(this.#db, this.#S, instanceId, facts)
  }

  /** A schema dropped under a running scheduler is said, not written into. */
  async heartbeat(instanceId: string, now: number): Promise<Heartbeat> {
    try {
      return await heartbeat(this.#db, this.#S, instanceId, now)
    } catch (error) {
      throw this.#closed || !isSchemaGone(error) ? error : this.#gone()
    }
  }

  async stopInstance(instanceId: string, now: number): Promise<void> {
    await this.#transaction((db) => stopInstance(db, this.#S, instanceId, now))
  }

  async listInstances(): Promise<InstanceRecord[]> {
    return listInstances(this.#db, this.#S)
  }

  async reapDeadInstances(now: number, ttlMs: number, dead: readonly string[] = []): Promise<ReapedRuns> {
    return this.#transaction((db) => reapDeadInstances(db, this.#S, now, ttlMs, dead))
  }

  async orphanedRetries(): Promise<PendingRetry[]> {
    return orphanedRetries(this.#db, this.#S)
  }

  // --- jobs (jobs.ts) ----------------------------------------------------------------------------

  async syncJobs(names: readonly string[], now: number, options: { serving?: boolean } = {}): Promise<JobState[]> {
    return this.#transaction((db) => syncJobs(db, this.#S, names, now, options))
  }

  async listJobs(): Promise<JobState[]> {
    return listJobs(this.#db, this.#S)
  }

  async setPaused(job: string, paused: boolean, now: number): Promise<boolean> {
    return setPaused(this.#db, this.#S, job, paused, now)
  }

  // --- slots and attempts -------------------------------------------------------------------------

  async claimSlots(claims: readonly SlotClaim[], instanceId: string, now: number): Promise<ClaimOutcome[]> {
    if (claims.length === 0) {
      await this.#ready()
      return []
    }
    return this.#transaction(
      (db) => this.#writer.claimBatch(db, claims, instanceId, now),
      true,
      (outcomes) => this.#unanswered.add(startedIds(outcomes), instanceId, now),
    )
  }

  async beginRun(run: BeginRun, instanceId: string, now: number): Promise<BeginOutcome> {
    return this.#transaction(
      (db) => this.#writer.begin(db, run, instanceId, now),
      true,
      (outcome) => this.#unanswered.add(startedIds([outcome]), instanceId, now),
    )
  }

  /**
   * Queued: written with the other outcomes of this turn in one transaction (see the class comment).
   * False when refused: the run's owner was reaped.
   */
  async finishRun(runId: number, outcome: RunOutcome): Promise<boolean> {
    const refused = await this.#outcomes.enqueue({ id: runId, settle: false, ...finishedRun(outcome, (set) => set) })
    return !refused.has(runId)
  }

  /** Queued like `finishRun` (and fenced like it), written after any outcome queued before it. */
  async settleRun(runId: number): Promise<void> {
    await this.#outcomes.enqueue({ id: runId, settle: true })
  }

  // --- reading history ----------------------------------------------------------------------------

  async getRun(id: number): Promise<RunRecord | undefined> {
    const [row] = await this.#query<RunRow>(`SELECT ${RUN_COLUMNS} FROM ${this.#S}.runs WHERE id = $1`, [id])
    return row === undefined ? undefined : toRun(row)
  }

  async listRuns(filter: RunFilter): Promise<RunRecord[]> {
    const limit = Math.max(0, Math.floor(filter.limit ?? 50))
    const where: string[] = []
    const values: unknown[] = []
    const add = (clause: string, value: unknown) => {
      values.push(value)
      where.push(clause.replace('?', `$${values.length}`))
    }
    if (filter.job !== undefined) add('job = ?', filter.job)
    if (filter.status !== undefined) add('status = ?', filter.status)
    if (filter.trigger !== undefined) add('"trigger" = ?', filter.trigger)
    if (filter.since !== undefined) add('started_at >= ?', filter.since)
    const following = filter.afterId !== undefined
    if (following) add('id > ?', filter.afterId)
    values.push(limit)
    const rows = await this.#query<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM ${this.#S}.runs` +
        (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
        ` ORDER BY id ${following ? 'ASC' : 'DESC'} LIMIT $${values.length}`,
      values,
    )
    return rows.map(toRun)
  }

  async requestCancel(runId: number, message: string): Promise<RunRecord | undefined> {
    await this.#db.query(`UPDATE ${this.#S}.runs SET cancel_request = $1 WHERE id = $2 AND status = 'running'`, [
      message,
      runId,
    ])
    return this.getRun(runId)
  }

  async activeRuns(): Promise<RunRecord[]> {
    const rows = await this.#query<RunRow>(`SELECT ${RUN_COLUMNS} FROM ${this.#S}.runs WHERE active ORDER BY id`)
    return rows.map(toRun)
  }

  async countByStatus(since: number): Promise<Partial<Record<RunStatus, number>>> {
    const rows = await this.#query<{ status: RunStatus; n: number }>(
      `SELECT status, count(*)::int AS n FROM ${this.#S}.runs WHERE started_at >= $1 GROUP BY status`,
      [since],
    )
    const counts: Partial<Record<RunStatus, number>> = {}
    for (const { status, n } of rows) counts[status] = n
    return counts
  }

  async lastRuns(): Promise<Map<string, RunRecord>> {
    const rows = await this.#query<RunRow>(
      `SELECT DISTINCT ON (job) ${RUN_COLUMNS} FROM ${this.#S}.runs WHERE status <> 'running' ORDER BY job, id DESC`,
    )
    return new Map(rows.map((row) => [row.job, toRun(row)]))
  }

  // --- maintenance --------------------------------------------------------------------------------

  /** One bounded step of a prune pass (prune.ts); the next call with the same arguments carries on. */
  async prune(
    now: number,
    history: { keepDays: number; keepRuns: number },
    budget: { maxMs: number },
  ): Promise<{ deleted: number; done: boolean }> {
    return this.#pruner.step(now, history, budget)
  }

  async #count(sql: string, values: unknown[]): Promise<number> {
    return (await this.#db.query(sql, values)).rowCount ?? 0
  }

  #gone(): CronsError {
    return new CronsError('STATE_GONE', `${this.location}: schema "${this.#target.schema}" was dropped while in use`, {
      suggestions: ['start the scheduler again to create it anew'],
    })
  }

  async info(): Promise<StoreInfo> {
    await this.#settled()
    return { location: this.location, schemaVersion: this.#schemaVersion, sizeBytes: null }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // Queued outcomes first: their callers are waiting for the commit.
    await this.#settled()
    await this.#pool.end()
  }
}

/** The runs that `outcomes` started (those a caller would go on to run). */
function startedIds(outcomes: readonly (ClaimOutcome | BeginOutcome)[]): number[] {
  return outcomes.flatMap((outcome) => (outcome.kind === 'started' ? [outcome.runId] : []))
}

/** A 32-bit key for this schema's transaction locks, so stores in other schemas never wait on them. */
function lockKeyOf(schema: string): number {
  let hash = 0
  for (const char of schema) hash = (Math.imul(hash, 31) + (char.codePointAt(0) ?? 0)) | 0
  return hash
}

/** A relation or the schema itself is missing (undefined_table, invalid_schema_name). */
function isSchemaGone(error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code
  return code === '42P01' || code === '3F000'
}
