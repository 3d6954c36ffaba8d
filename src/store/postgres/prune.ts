// Pruning Postgres history in steps (see `Store.prune`) of batches, each its own statement: a claim waits one at most.
import type { Store } from '../types.js'

const DAY_MS = 86_400_000
const PRUNE_BATCH = 1_000
/** Old runs, runs beyond keepRuns, old slot claims, stopped instances. */
const PRUNE_PHASES = 4
/** Slot claims and instance rows are scheduling state; they outlive history kept for fewer days. */
const MIN_STATE_RETENTION_MS = DAY_MS

/** What a pass keeps: runs younger than `keepDays`, and each job's newest `keepRuns`. */
type History = Parameters<Store['prune']>[1]

export class PgPruner {
  #pass: { key: string; phase: number } | undefined

  /** `S`: the quoted schema name; `execute` runs one statement and resolves to the rows it deleted. */
  constructor(
    private readonly S: string,
    private readonly execute: (sql: string, values: unknown[]) => Promise<number>,
  ) {}

  // Batches until the budget is spent (at least one); the same arguments carry the pass on, others start anew.
  // keepRuns ranks at each batch, so a run started during the pass counts among the newest. Never an active run,
  // nor a failed attempt whose retry is pending (its retry begins by taking that row's retry_at).
  async step(now: number, history: History, budget: { maxMs: number }): ReturnType<Store['prune']> {
    const key = JSON.stringify([now, history.keepDays, history.keepRuns])
    if (this.#pass?.key !== key) this.#pass = { key, phase: 0 }
    const pass = this.#pass
    const started = Date.now()
    let deleted = 0
    for (;;) {
      const [sql, values, counted] = this.#batch(pass.phase, now, history)
      const count = await this.execute(sql, [...values, PRUNE_BATCH])
      if (counted) deleted += count
      if (count < PRUNE_BATCH) pass.phase++
      if (pass.phase >= PRUNE_PHASES) {
        this.#pass = undefined
        return { deleted, done: true }
      }
      if (Date.now() - started >= budget.maxMs) return { deleted, done: false }
    }
  }

  /** The statement of one batch of a prune phase, its values (the batch size follows), and whether it deletes runs. */
  #batch(phase: number, now: number, history: History): [sql: string, values: unknown[], countsRuns: boolean] {
    const S = this.S
    const runCutoff = now - history.keepDays * DAY_MS
    const stateCutoff = Math.min(runCutoff, now - MIN_STATE_RETENTION_MS)
    switch (phase) {
      case 0:
        return [
          `DELETE FROM ${S}.runs WHERE id IN (
             SELECT id FROM ${S}.runs WHERE started_at < $1 AND NOT active AND retry_at IS NULL LIMIT $2)`,
          [runCutoff],
          true,
        ]
      case 1:
        return [
          `DELETE FROM ${S}.runs WHERE id IN (
             SELECT id FROM (
               SELECT id, active, retry_at, row_number() OVER (PARTITION BY job ORDER BY id DESC) AS n FROM ${S}.runs
             ) r
             WHERE r.n > $1 AND NOT r.active AND r.retry_at IS NULL LIMIT $2)`,
          [Math.max(0, Math.floor(history.keepRuns))],
          true,
        ]
      case 2:
        return [
          `DELETE FROM ${S}.slot_claims WHERE (slot, job) IN (SELECT slot, job FROM ${S}.slot_claims WHERE slot < $1 LIMIT $2)`,
          [stateCutoff],
          false,
        ]
      default:
        return [
          `DELETE FROM ${S}.instances WHERE id IN (
             SELECT i.id FROM ${S}.instances i WHERE coalesce(i.stopped_at, i.heartbeat_at) < $1
             AND NOT EXISTS (SELECT 1 FROM ${S}.runs r WHERE r.active AND r.instance_id = i.id) LIMIT $2)`,
          [stateCutoff],
          false,
        ]
    }
  }
}
