/**
 * Writing new runs: slot claims (the scheduler's hot path, up to one row per due job in one
 * transaction) and `beginRun` (manual runs and retries). Both insert through `insertRun`, which
 * links every run into its job's chain (`runs.prev_id`, `jobs.last_run_id`): the history reads in
 * `history.ts` walk that chain instead of an index keyed by job.
 *
 * Runs inside the caller's transaction; nothing here opens or commits one.
 */
import type { Trigger } from '../../config/types.js'
import type { BeginOutcome, BeginRun, ClaimOutcome, RunStatus, SlotClaim } from '../types.js'
import type { ClaimHolderRow, Statements } from './statements.js'

/** What a claim batch knows of a job's first active run; enough for the skip reason. */
type Holder = Omit<ClaimHolderRow, 'job'>

/**
 * From this many claims on, a batch reads every active run once instead of looking up each job's:
 * one indexed lookup per claim is cheaper for a few claims while many runs are active.
 */
const HOLDER_SCAN_MIN = 16

export class RunWriter {
  readonly #s: Statements

  constructor(statements: Statements) {
    this.#s = statements
  }

  /**
   * Insert a run as the new head of its job's chain. Parameters in the order of `NewRunParams`, passed
   * straight through (no rest array per row); `claimed` also raises the job's last served slot. A job
   * this file has never seen gets its row here, so claims and manual runs work before any config
   * sync.
   */
  insertRun(
    job: string,
    slot: number,
    trigger: Trigger,
    attempt: number,
    status: RunStatus,
    startedAt: number,
    finishedAt: number | null,
    detail: string | null,
    instanceId: string,
    active: 0 | 1,
    claimed: boolean,
  ): number {
    const s = this.#s
    const runId = Number(
      s.insertRun.run(job, slot, trigger, attempt, status, startedAt, finishedAt, detail, instanceId, active, job)
        .lastInsertRowid,
    )
    const linked = claimed ? s.linkClaim.run(runId, slot, slot, job) : s.linkRun.run(runId, job)
    if (linked.changes === 0) s.addJob.run(job, claimed ? slot : null, startedAt, startedAt, runId)
    return runId
  }

  /**
   * Serve a batch of claims in order. Paused jobs and (only when some claim may be skipped) active
   * runs are read once for the whole batch instead of once per claim; runs the batch starts are
   * added as it goes, so a later claim of the same job sees an earlier one as the holder. Small
   * batches look holders up per claim, in the table, which holds the batch's own runs too.
   */
  claimBatch(claims: readonly SlotClaim[], instanceId: string, now: number): ClaimOutcome[] {
    const paused = new Set(this.#s.pausedJobs.all())
    const scan = claims.length >= HOLDER_SCAN_MIN && claims.some((c) => c.overlap === 'skip' && c.record !== 'missed')
    const holders = scan ? this.#holders() : undefined
    return claims.map((claim) => this.#claimOne(claim, instanceId, now, paused, holders))
  }

  #holders(): Map<string, Holder> {
    const holders = new Map<string, Holder>()
    for (const row of this.#s.activeHolders.all()) {
      if (!holders.has(row.job)) holders.set(row.job, row)
    }
    return holders
  }

  /** Runs once per due job, so statements are bound positionally and no object is built but the outcome. */
  #claimOne(
    claim: SlotClaim,
    instanceId: string,
    now: number,
    paused: ReadonlySet<string>,
    /** Undefined: look each holder up in the table. */
    holders: Map<string, Holder> | undefined,
  ): ClaimOutcome {
    const { job, slot, trigger } = claim
    if (this.#s.claimSlot.run(slot, job).changes === 0) return { kind: 'taken' }
    const missed = claim.missed === undefined ? null : JSON.stringify(claim.missed)

    if (claim.record === 'missed') {
      const detail = missed ?? JSON.stringify({ count: 1, first: slot, last: slot })
      return {
        kind: 'missed',
        runId: this.insertRun(job, slot, trigger, 1, 'missed', now, now, detail, instanceId, 0, true),
      }
    }
    if (paused.has(job)) {
      const runId = this.insertRun(job, slot, trigger, 1, 'skipped', now, now, 'paused', instanceId, 0, true)
      return { kind: 'paused', runId }
    }
    if (claim.overlap === 'skip') {
      const holder = holders === undefined ? this.#s.holder.get(job) : holders.get(job)
      if (holder !== undefined) {
        const since = new Date(holder.started_at).toISOString()
        const reason = `still running: run ${holder.id} on instance ${holder.instance_id} since ${since}`
        const runId = this.insertRun(job, slot, trigger, 1, 'skipped', now, now, reason, instanceId, 0, true)
        return { kind: 'skipped', runId, reason }
      }
    }
    const runId = this.insertRun(job, slot, trigger, 1, 'running', now, null, missed, instanceId, 1, true)
    if (holders !== undefined && !holders.has(job))
      holders.set(job, { id: runId, instance_id: instanceId, started_at: now })
    return { kind: 'started', runId }
  }

  begin(run: BeginRun, instanceId: string, now: number): BeginOutcome {
    if (run.overlap === 'skip') {
      const holder = this.#s.holder.get(run.job)
      if (holder !== undefined) {
        return {
          kind: 'busy',
          holder: {
            runId: holder.id,
            instanceId: holder.instance_id,
            host: holder.host,
            pid: holder.pid,
            startedAt: holder.started_at,
          },
        }
      }
    }
    const { job, slot, trigger, attempt } = run
    const detail = run.detail ?? null
    const runId = this.insertRun(job, slot, trigger, attempt, 'running', now, null, detail, instanceId, 1, false)
    return { kind: 'started', runId }
  }
}
