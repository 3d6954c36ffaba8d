// The Postgres `Store`: atomic writes are one transaction on a pooled connection, reads single statements. Outcomes
// are queued a turn at a time (docs/engine.md: "Outcome batching"); every other method waits for them first.
import { CronsError } from '../../errors.js'
import { finishedRun, RUN_COLUMNS } from '../rows.js'
import type {
  AttemptRecord,
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
  RunStatus,
  SlotClaim,
  Store,
  StoreInfo,
} from '../types.js'
import { PgRunWriter } from './claims.js'
import { type Connections, fromPgError, type PgTarget } from './driver.js'
import * as instances from './instances.js'
import * as jobs from './jobs.js'
import { OutcomeBatches, writeOutcomes } from './outcomes.js'
import { PgPruner } from './prune.js'
import { type Queryable, type RunRow, toRun } from './sql.js'
import { IDLE_IN_TRANSACTION_MS, UnansweredStarts } from './unanswered.js'

/** Deadlocks cannot happen between this store's own statements, but are retried should one occur. */
const RETRIED_CODES = new Set(['40P01', '40001'])
// The server ends a transaction whose process froze mid-way (docs/engine.md: "Postgres locking"). PgBouncer-safe.
const BEGIN = `BEGIN; SET LOCAL idle_in_transaction_session_timeout = '${IDLE_IN_TRANSACTION_MS}ms'`

export class PostgresStore implements Store {
  readonly location: string
  readonly #connections: Connections
  readonly #target: PgTarget
  readonly #S: string
  readonly #writer: PgRunWriter
  readonly #schemaVersion: number
  #closed = false
  readonly #pruner: PgPruner
  readonly #unanswered: UnansweredStarts
  readonly #outcomes = new OutcomeBatches((writes) =>
    this.#transaction((db) => writeOutcomes(db, this.#S, writes), false),
  )

  constructor(connections: Connections, target: PgTarget, location: string, schemaVersion: number) {
    this.#connections = connections
    this.#target = target
    this.location = location
    this.#S = `"${target.schema}"`
    this.#schemaVersion = schemaVersion
    this.#writer = new PgRunWriter(this.#S, lockKeyOf(target.schema))
    this.#pruner = new PgPruner(this.#S, async (sql, values) => (await this.#db.query(sql, values)).rowCount ?? 0)
    this.#unanswered = new UnansweredStarts(this.#S)
  }

  async #runs(text: string, values?: unknown[]): Promise<AttemptRecord[]> {
    return (await this.#db.query<RunRow>(text, values)).rows.map(toRun)
  }

  /** A driver failure as the store's error; a connection lost or unanswered distrusts the others (`Connections`). */
  #failure(error: unknown): CronsError {
    const failure = fromPgError(error, this.#target)
    if (failure.code === 'STATE_UNREACHABLE') this.#connections.lost()
    return failure
  }

  readonly #fail = (error: unknown): never => {
    throw this.#failure(error)
  }

  /** One statement on a connection out of the pool, with the store's errors; a broken connection is dropped. */
  readonly #statement: Queryable = {
    query: async (text, values) => {
      const held = await this.#connections.checkOut().catch(this.#fail)
      let broken = false
      try {
        return await held.client.query(text, values)
      } catch (error) {
        const failure = this.#failure(held.lost ?? error)
        broken = failure.code === 'STATE_UNREACHABLE'
        throw failure
      } finally {
        held.release(broken)
      }
    },
  }

  /** Single statements, after the queued outcomes. */
  readonly #db: Queryable = {
    query: async (text, values) => {
      await this.#ready()
      return this.#statement.query(text, values)
    },
  }

  /** Retried on a deadlock or serialization failure; `unanswered` gets the result whose COMMIT went unanswered. */
  async #transaction<T>(
    work: (db: Queryable) => Promise<T>,
    waitForOutcomes = true,
    unanswered?: (result: T) => void,
  ): Promise<T> {
    if (waitForOutcomes) await this.#ready()
    for (let attempt = 1; ; attempt++) {
      const held = await this.#connections.checkOut().catch(this.#fail)
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
        const failure = this.#failure(held.lost ?? error)
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

  /** Queued outcomes written, and runs left by an unanswered COMMIT recorded interrupted (they must not hold their job). */
  async #ready(): Promise<void> {
    await this.#outcomes.written()
    await this.#unanswered.resolve(this.#statement)
  }

  /** The server's clock minus ours, read at the middle of a round trip; a first, discarded reading warms the pool. */
  async clockOffset(hostNow: () => number = Date.now): Promise<number> {
    const read = async () => {
      const before = hostNow()
      const { rows } = await this.#db.query<{ ms: number }>(
        'SELECT (extract(epoch from clock_timestamp()) * 1000)::float8 AS ms',
      )
      const after = hostNow()
      return (rows[0]?.ms ?? after) - (before + after) / 2
    }
    await read()
    return Math.round(await read())
  }

  async registerInstance(instance: NewInstance): Promise<void> {
    await instances.registerInstance(this.#db, this.#S, instance)
  }

  async updateInstance(instanceId: string, facts: InstanceFacts): Promise<void> {
    await instances.updateInstance(this.#db, this.#S, instanceId, facts)
  }

  /** A schema dropped under a running scheduler is said, not written into. */
  async heartbeat(instanceId: string, now: number): Promise<Heartbeat> {
    try {
      return await instances.heartbeat(this.#db, this.#S, instanceId, now)
    } catch (error) {
      if (this.#closed || !isSchemaGone(error)) throw error
      throw new CronsError('STATE_GONE', `${this.location}: schema "${this.#target.schema}" was dropped while in use`, {
        suggestions: ['start the scheduler again to create it anew'],
      })
    }
  }

  async stopInstance(instanceId: string, now: number): Promise<void> {
    await this.#transaction((db) => instances.stopInstance(db, this.#S, instanceId, now))
  }

  async listInstances(): Promise<InstanceRecord[]> {
    return instances.listInstances(this.#db, this.#S)
  }

  async reapDeadInstances(now: number, ttlMs: number, dead: readonly string[] = []): Promise<ReapedRuns> {
    return this.#transaction((db) => instances.reapDeadInstances(db, this.#S, now, ttlMs, dead))
  }

  async orphanedRetries(): Promise<PendingRetry[]> {
    return instances.orphanedRetries(this.#db, this.#S)
  }

  async syncJobs(names: readonly string[], now: number, options: { serving?: boolean } = {}): Promise<JobState[]> {
    return this.#transaction((db) => jobs.syncJobs(db, this.#S, names, now, options))
  }

  async listJobs(): Promise<JobState[]> {
    return jobs.listJobs(this.#db, this.#S)
  }

  async setPaused(job: string, paused: boolean, now: number): Promise<boolean> {
    return jobs.setPaused(this.#db, this.#S, job, paused, now)
  }

  async claimSlots(claims: readonly SlotClaim[], instanceId: string, now: number): Promise<ClaimOutcome[]> {
    if (claims.length === 0) {
      await this.#ready()
      return []
    }
    return this.#transaction(
      (db) => this.#writer.claimBatch(db, claims, instanceId, now),
      true,
      (outcomes) => this.#unanswered.add(outcomes, instanceId, now),
    )
  }

  async beginRun(run: BeginRun, instanceId: string, now: number): Promise<BeginOutcome> {
    return this.#transaction(
      (db) => this.#writer.begin(db, run, instanceId, now),
      true,
      (outcome) => this.#unanswered.add([outcome], instanceId, now),
    )
  }

  async cancelRetry(runId: number, message: string, now: number): Promise<AttemptRecord | undefined> {
    const id = await this.#transaction((db) => this.#writer.cancelRetry(db, runId, message, now))
    return id === undefined ? undefined : this.getRun(id)
  }

  /** Queued with this turn's outcomes; false when refused (the run's owner was reaped). */
  async finishRun(runId: number, outcome: RunOutcome): Promise<boolean> {
    const refused = await this.#outcomes.enqueue({ id: runId, release: false, ...finishedRun(outcome, (set) => set) })
    return !refused.has(runId)
  }

  async releaseRun(runId: number): Promise<void> {
    await this.#outcomes.enqueue({ id: runId, release: true })
  }

  async getRun(id: number): Promise<AttemptRecord | undefined> {
    const [run] = await this.#runs(`SELECT ${RUN_COLUMNS} FROM ${this.#S}.runs WHERE id = $1`, [id])
    return run
  }

  async listRuns(filter: RunFilter): Promise<AttemptRecord[]> {
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
    values.push(Math.max(0, Math.floor(filter.limit ?? 50)))
    return this.#runs(
      `SELECT ${RUN_COLUMNS} FROM ${this.#S}.runs` +
        (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
        ` ORDER BY id ${following ? 'ASC' : 'DESC'} LIMIT $${values.length}`,
      values,
    )
  }

  async requestCancel(runId: number, message: string): Promise<AttemptRecord | undefined> {
    await this.#db.query(`UPDATE ${this.#S}.runs SET cancel_request = $1 WHERE id = $2 AND status = 'running'`, [
      message,
      runId,
    ])
    return this.getRun(runId)
  }

  async activeRuns(): Promise<AttemptRecord[]> {
    return this.#runs(`SELECT ${RUN_COLUMNS} FROM ${this.#S}.runs WHERE active ORDER BY id`)
  }

  async countByStatus(since: number): Promise<Partial<Record<RunStatus, number>>> {
    const { rows } = await this.#db.query<{ status: RunStatus; n: number }>(
      `SELECT status, count(*)::int AS n FROM ${this.#S}.runs WHERE started_at >= $1 GROUP BY status`,
      [since],
    )
    return Object.fromEntries(rows.map(({ status, n }) => [status, n]))
  }

  async lastRuns(): Promise<Map<string, AttemptRecord>> {
    const runs = await this.#runs(
      `SELECT DISTINCT ON (job) ${RUN_COLUMNS} FROM ${this.#S}.runs WHERE status <> 'running' ORDER BY job, id DESC`,
    )
    return new Map(runs.map((run) => [run.job, run]))
  }

  async prune(...args: Parameters<Store['prune']>): ReturnType<Store['prune']> {
    return this.#pruner.step(...args)
  }

  async info(): Promise<StoreInfo> {
    await this.#outcomes.written()
    return { location: this.location, schemaVersion: this.#schemaVersion, sizeBytes: null }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#outcomes.written()
    await this.#connections.pool.end()
  }
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
