/**
 * The SQLite `Store`: better-sqlite3 is synchronous, so each method does its work in one call. Writes
 * are `BEGIN IMMEDIATE` (take the lock up front: two processes queue on the busy timeout instead of one
 * failing to upgrade a read lock). Outcomes are queued (docs/engine.md: "Outcome batching").
 */
import fs from 'node:fs'
import nodePath from 'node:path'
import type Database from 'better-sqlite3'
import { interruptedMessage } from '../messages.js'
import { finishedRun } from '../rows.js'
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
  StateBackup,
  Store,
  StoreInfo,
} from '../types.js'
import { backupDatabase, refuseOwnFile } from './backup.js'
import { RunWriter } from './claims.js'
import { type FailureContext, fromSqliteError } from './failures.js'
import { StateFileWatch } from './file-watch.js'
import { RunHistory } from './history.js'
import { SCHEMA_VERSION } from './migrations.js'
import { type OpenedDatabase, tidyAfterReadOnly } from './open.js'
import { OutcomeQueue } from './outcome-queue.js'
import { type PruneHistory, Pruner, type PruneStep } from './prune.js'
import { toInstance, toJob, toRun } from './rows.js'
import { prepareStatements, type Statements } from './statements.js'

export class SqliteStore implements Store {
  readonly location: string
  readonly #db: Database.Database
  readonly #s: Statements
  readonly #context: FailureContext
  readonly #history: RunHistory
  readonly #pruner: Pruner
  #closed = false
  readonly #file: StateFileWatch
  /** SQLite resolved a relative path against the directory at open time; so must `info()`. */
  readonly #cwd = process.cwd()
  /** Built once: better-sqlite3 builds a wrapper object per `transaction()` call. */
  readonly #writeTx
  readonly #writer: RunWriter
  readonly #outcomes: OutcomeQueue
  /** Read-only stores: whether SQLite's `-wal`/`-shm` files were there before we opened. */
  readonly #hadCompanions: boolean

  constructor({ db, context, hadCompanions }: OpenedDatabase) {
    this.location = context.path
    this.#db = db
    this.#context = context
    this.#hadCompanions = hadCompanions
    this.#s = prepareStatements(db)
    this.#file = new StateFileWatch(context.path, this.#cwd)
    this.#history = new RunHistory(db, this.#s)
    this.#pruner = new Pruner(db, this.#s, this.#history, {
      write: (work) => this.#write(work),
      read: (work) => this.#call(work),
    })
    this.#writer = new RunWriter(this.#s)
    this.#writeTx = db.transaction((work: () => unknown) => work())
    this.#outcomes = new OutcomeQueue(db, this.#s, context, () => this.#closed)
  }

  /**
   * Queued outcomes first (a call sees every outcome already handed over), then `work`, its driver
   * errors turned into one-line `CronsError`s naming the file.
   */
  #call<T>(work: () => T): T {
    this.#outcomes.flush()
    try {
      return work()
    } catch (error) {
      throw fromSqliteError(error, this.#context)
    }
  }

  #write<T>(work: () => T): T {
    return this.#call(() => this.#writeTx.immediate(work) as T)
  }

  async clockOffset(): Promise<number> {
    return 0
  }

  async registerInstance(instance: NewInstance): Promise<void> {
    this.#write(() =>
      this.#s.registerInstance.run({
        ...instance,
        processStart: instance.processStart ?? null,
        configHash: instance.configHash ?? null,
      }),
    )
  }

  async updateInstance(instanceId: string, facts: InstanceFacts): Promise<void> {
    this.#write(() =>
      this.#s.updateInstance.run({
        id: instanceId,
        setConfigHash: facts.configHash !== undefined ? 1 : 0,
        configHash: facts.configHash ?? null,
        setClockOffset: facts.clockOffsetMs !== undefined ? 1 : 0,
        clockOffsetMs: facts.clockOffsetMs ?? null,
      }),
    )
  }

  /** A state file deleted or replaced is never written into (file-watch.ts). */
  async heartbeat(instanceId: string, now: number): Promise<Heartbeat> {
    if (!this.#closed) await this.#file.check(this.#db, () => this.#outcomes.flush())
    return this.#write(() => ({
      held: this.#s.heartbeat.run(now, instanceId).changes > 0,
      cancelRequests: this.#s.cancelRequests.all(instanceId),
      peers: this.#s.peers.all(instanceId).map(toInstance),
      orphanedRuns: this.#s.anyOrphanedRuns.get() === 1,
      orphanedRetries: this.#s.orphanedRetries.all(),
    }))
  }

  async stopInstance(instanceId: string, now: number): Promise<void> {
    this.#write(() => {
      this.#s.stopInstance.run(now, instanceId)
      this.#s.releaseInstance.run(instanceId)
    })
  }

  async listInstances(): Promise<InstanceRecord[]> {
    return this.#call(() => this.#s.listInstances.all().map(toInstance))
  }

  async reapDeadInstances(now: number, ttlMs: number, dead: readonly string[] = []): Promise<ReapedRuns> {
    return this.#write(() => {
      const reaped: ReapedRuns = { interrupted: [], released: [] }
      const gone = [...this.#s.expiredInstances.all(now - ttlMs), ...dead]
      if (gone.length > 0) this.#s.markReaped.run(now, JSON.stringify(gone))
      for (const orphan of this.#s.orphans.all(now - ttlMs, JSON.stringify(dead))) {
        const interrupted = orphan.status === 'running'
        if (interrupted) {
          // The run died when its instance was last seen alive, as far as anyone can tell.
          const finishedAt = Math.min(now, Math.max(orphan.started_at, orphan.last_seen ?? now))
          this.#s.interrupt.run({ id: orphan.id, finishedAt, message: interruptedMessage(orphan.instance_id) })
        } else {
          // Already has its outcome (a timeout); only the overlap guard is stale.
          this.#s.deactivate.run(orphan.id)
        }
        const run = this.#runById(orphan.id)
        if (run !== undefined) (interrupted ? reaped.interrupted : reaped.released).push(run)
      }
      return reaped
    })
  }

  async syncJobs(names: readonly string[], now: number, options: { serving?: boolean } = {}): Promise<JobState[]> {
    return this.#write(() => {
      for (const name of names) this.#s.seeJob.run({ name, now })
      if (options.serving && names.length > 0) this.#s.serveFrom.run({ names: JSON.stringify(names), from: now })
      return this.#s.listJobs.all().map(toJob)
    })
  }

  async listJobs(): Promise<JobState[]> {
    return this.#call(() => this.#s.listJobs.all().map(toJob))
  }

  async setPaused(job: string, paused: boolean, now: number): Promise<boolean> {
    return this.#write(() => this.#s.setPaused.run({ name: job, paused: paused ? 1 : 0, now }).changes > 0)
  }

  async claimSlots(claims: readonly SlotClaim[], instanceId: string, now: number): Promise<ClaimOutcome[]> {
    if (claims.length === 0) return this.#call(() => [])
    return this.#write(() => this.#writer.claimBatch(claims, instanceId, now))
  }

  async beginRun(run: BeginRun, instanceId: string, now: number): Promise<BeginOutcome> {
    return this.#write(() => this.#writer.begin(run, instanceId, now))
  }

  finishRun(runId: number, outcome: RunOutcome): Promise<boolean> {
    return this.#outcomes
      .enqueue({ id: runId, ...finishedRun(outcome, (set) => (set ? 1 : 0)) })
      .then((refused) => !refused.has(runId))
  }

  async releaseRun(runId: number): Promise<void> {
    await this.#outcomes.enqueue(runId)
  }

  async cancelRetry(runId: number, message: string, now: number): Promise<AttemptRecord | undefined> {
    return this.#write(() => {
      const id = this.#writer.cancelRetry(runId, message, now)
      return id === undefined ? undefined : this.#runById(id)
    })
  }

  async orphanedRetries(): Promise<PendingRetry[]> {
    return this.#call(() => this.#s.orphanedRetries.all())
  }

  async getRun(id: number): Promise<AttemptRecord | undefined> {
    return this.#call(() => this.#runById(id))
  }

  #runById(id: number): AttemptRecord | undefined {
    const row = this.#s.getRun.get(id)
    return row === undefined ? undefined : toRun(row)
  }

  async listRuns(filter: RunFilter): Promise<AttemptRecord[]> {
    return this.#call(() => this.#history.list(filter))
  }

  async requestCancel(runId: number, message: string): Promise<AttemptRecord | undefined> {
    return this.#write(() => {
      this.#s.requestCancel.run(message, runId)
      return this.#runById(runId)
    })
  }

  async activeRuns(): Promise<AttemptRecord[]> {
    return this.#call(() => this.#s.activeRuns.all().map(toRun))
  }

  async countByStatus(since: number): Promise<Partial<Record<RunStatus, number>>> {
    return this.#call(() => Object.fromEntries(this.#s.countByStatus.all(since).map(({ status, n }) => [status, n])))
  }

  async lastRuns(): Promise<Map<string, AttemptRecord>> {
    return this.#call(() => this.#history.lastRuns())
  }

  async prune(now: number, history: PruneHistory, budget: { maxMs: number }): Promise<PruneStep> {
    return this.#pruner.step(now, history, budget.maxMs)
  }

  async info(): Promise<StoreInfo> {
    this.#outcomes.flush()
    const size = (file: string) => {
      try {
        return fs.statSync(file).size
      } catch {
        return 0
      }
    }
    // Recent writes live in the -wal file until a checkpoint.
    const file = nodePath.resolve(this.#cwd, this.location)
    const sizeBytes = this.#db.memory ? null : size(file) + size(`${file}-wal`)
    return { location: this.location, schemaVersion: SCHEMA_VERSION, sizeBytes }
  }

  async backup(file: string, options: { replace?: boolean } = {}): Promise<StateBackup> {
    // Over the state's own files, by whatever path, the copy would damage what schedulers have open.
    if (!this.#db.memory) refuseOwnFile(nodePath.resolve(this.#cwd, this.location), file)
    this.#outcomes.flush()
    return backupDatabase(this.#db, this.location, file, options.replace === true)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#outcomes.flush()
    await this.#file.refresh(this.#db)
    this.#closed = true
    try {
      // SQLite's advice on close: keeps query plans good as history grows.
      if (!this.#context.readonly) this.#db.pragma('optimize')
    } catch {
      // Only an optimisation: a busy or read-only file must not stop the close.
    } finally {
      this.#db.close()
      if (this.#context.readonly) tidyAfterReadOnly(this.location, this.#hadCompanions)
    }
  }
}
