/**
 * Writing new runs inside the caller's transaction: slot claims (the hot path) and `beginRun`. Every run
 * becomes the head of its job's chain (`runs.prev_id`, `jobs.last_run_id`; docs/storage.md: "Schema").
 */
import { stillRunning } from '../messages.js'
import { finishedRun, toHolder } from '../rows.js'
import type { BeginOutcome, BeginRun, ClaimOutcome, MissedInfo, RunStatus, SlotClaim } from '../types.js'
import { Groups } from './groups.js'
import type { ClaimHolderRow, NewRun, Statements } from './statements.js'

type Holder = Omit<ClaimHolderRow, 'job'>

/** From this many claims on, a batch reads every active run once instead of looking up each job's. */
const HOLDER_SCAN_MIN = 16

const TAKEN: ClaimOutcome = Object.freeze({ kind: 'taken' })

/** A won claim and the run it writes; `index` is its place in the batch. */
interface ClaimRow {
  index: number
  claim: SlotClaim
  kind: 'started' | 'skipped' | 'paused' | 'missed'
  status: RunStatus
  detail: string | null
}

export class RunWriter {
  readonly #s: Statements

  constructor(statements: Statements) {
    this.#s = statements
  }

  /** `claimed` also raises the job's last served slot. A job never synced gets its row here. */
  #insertRun(run: NewRun, claimed: boolean): number {
    const s = this.#s
    const { job } = run
    const runId = Number(s.insertRun.run(run).lastInsertRowid)
    const linked = claimed ? s.linkClaim.run(runId, run.slot, run.slot, job) : s.linkRun.run(runId, job)
    if (linked.changes === 0) s.addJob.run(job, claimed ? run.slot : null, run.startedAt, run.startedAt, runId)
    return runId
  }

  /**
   * Serve claims in order. A job claimed twice in a batch goes in a later round than its first claim,
   * so that claim sees the earlier run as its holder and chains after it.
   */
  claimBatch(claims: readonly SlotClaim[], instanceId: string, now: number): ClaimOutcome[] {
    const won = this.#insertSlotKeys(claims)
    const paused = new Set(this.#s.pausedJobs.all())
    const scan = claims.length >= HOLDER_SCAN_MIN && claims.some((c) => c.overlap === 'skip' && c.record !== 'missed')
    const holders = scan ? this.#holders() : undefined
    const outcomes = new Array<ClaimOutcome>(claims.length)
    let round: ClaimRow[] = []
    const inRound = new Set<string>()
    for (let i = 0; i < claims.length; i++) {
      const claim = claims[i] as SlotClaim
      if (!won[i]) {
        outcomes[i] = TAKEN
        continue
      }
      if (inRound.has(claim.job)) {
        this.#writeRound(round, outcomes, instanceId, now, holders)
        round = []
        inRound.clear()
      }
      // A pause is one record per paused stretch: a slot of a stretch already recorded extends it.
      if (paused.has(claim.job) && claim.record !== 'missed') {
        const extended = this.#extendPause(claim)
        if (extended !== undefined) {
          outcomes[i] = { kind: 'paused', runId: extended }
          continue
        }
      }
      round.push(this.#decide(i, claim, paused, holders))
      inRound.add(claim.job)
    }
    this.#writeRound(round, outcomes, instanceId, now, holders)
    return outcomes
  }

  /**
   * The exactly-once guard: whether each claim inserted its (slot, job) key, one statement per slot. A
   * slot with no claim yet (the usual case) is won by every job listed, so the insert need not answer:
   * the caller's transaction holds the write lock.
   */
  #insertSlotKeys(claims: readonly SlotClaim[]): boolean[] {
    const won = new Array<boolean>(claims.length).fill(false)
    const bySlot = new Map<number, number[]>()
    for (let i = 0; i < claims.length; i++) {
      const slot = (claims[i] as SlotClaim).slot
      const indexes = bySlot.get(slot)
      if (indexes) indexes.push(i)
      else bySlot.set(slot, [i])
    }
    for (const [slot, indexes] of bySlot) {
      const jobs = indexes.map((i) => (claims[i] as SlotClaim).job)
      if (indexes.length === 1) {
        won[indexes[0] as number] = this.#s.claimSlot.run(slot, jobs[0] as string).changes > 0
        continue
      }
      const listed = { slot, jobs: JSON.stringify(jobs) }
      let left: Set<string> | undefined
      if (this.#s.slotClaimed.get(slot) === undefined) {
        this.#s.claimFreeSlot.run(listed)
        // A job listed twice wins once.
        const distinct = new Set(jobs)
        if (distinct.size < jobs.length) left = distinct
      } else {
        const inserted = this.#s.claimSlots.all(listed)
        if (inserted.length < indexes.length) left = new Set(inserted)
      }
      for (let k = 0; k < indexes.length; k++) won[indexes[k] as number] = left?.delete(jobs[k] as string) ?? true
    }
    return won
  }

  /** Extend the job's open pause record to `claim`'s slot; undefined when no stretch is open. */
  #extendPause(claim: SlotClaim): number | undefined {
    const open = this.#s.openPause.get(claim.job)
    if (open === undefined) return undefined
    const stretch = JSON.parse(open.detail) as MissedInfo
    const detail = JSON.stringify({
      paused: true,
      count: stretch.count + 1,
      first: Math.min(stretch.first, claim.slot),
      last: Math.max(stretch.last, claim.slot),
    })
    this.#s.extendPause.run({ id: open.id, detail, slot: claim.slot, job: claim.job })
    this.#s.raiseLastSlot.run(claim.slot, claim.slot, claim.job)
    return open.id
  }

  #holders(): Map<string, Holder> {
    const holders = new Map<string, Holder>()
    for (const row of this.#s.activeHolders.all()) {
      if (!holders.has(row.job)) holders.set(row.job, row)
    }
    return holders
  }

  #decide(
    index: number,
    claim: SlotClaim,
    paused: ReadonlySet<string>,
    /** Undefined: look each holder up in the table. */
    holders: Map<string, Holder> | undefined,
  ): ClaimRow {
    const { job, slot } = claim
    const missed = claim.missed === undefined ? null : JSON.stringify(claim.missed)
    if (claim.record === 'missed') {
      const detail = missed ?? JSON.stringify({ count: 1, first: slot, last: slot })
      return { index, claim, kind: 'missed', status: 'missed', detail }
    }
    if (paused.has(job)) {
      const detail = JSON.stringify({ paused: true, count: 1, first: slot, last: slot })
      return { index, claim, kind: 'paused', status: 'skipped', detail }
    }
    if (claim.overlap === 'skip') {
      const holder = holders === undefined ? this.#s.holder.get(job) : holders.get(job)
      if (holder !== undefined)
        return { index, claim, kind: 'skipped', status: 'skipped', detail: stillRunning(holder, claim.startAt) }
    }
    return { index, claim, kind: 'started', status: 'running', detail: missed }
  }

  /**
   * Write the runs of one round (each of a different job) and fill in their outcomes. Rows that share
   * every column but the job are inserted, linked and added by one statement each; a lone row takes the
   * cheaper single-row statements.
   */
  #writeRound(
    round: readonly ClaimRow[],
    outcomes: ClaimOutcome[],
    instanceId: string,
    now: number,
    holders: Map<string, Holder> | undefined,
  ): void {
    const groups = new Groups<ClaimRow>(
      ({ claim: { slot, trigger, startAt = now }, status, detail }) =>
        `${slot} ${startAt} ${trigger} ${status} ${detail === null ? '-' : `+${detail}`}`,
      (a, b) => sameColumns(a, b, now),
    )
    for (const row of round) groups.add(row)
    for (const group of groups.values()) {
      const { claim, status, detail } = group[0] as ClaimRow
      const running = status === 'running'
      const startedAt = claim.startAt ?? now
      const run: NewRun & { jobs: string } = {
        job: claim.job,
        jobs: '',
        slot: claim.slot,
        trigger: claim.trigger,
        attempt: 1,
        status,
        startedAt,
        finishedAt: running ? null : startedAt,
        detail,
        instanceId,
        active: running ? 1 : 0,
      }
      let firstId: number
      if (group.length === 1) firstId = this.#insertRun(run, true)
      else {
        run.jobs = JSON.stringify(group.map((row) => row.claim.job))
        const inserted = this.#s.insertRuns.run(run)
        const last = Number(inserted.lastInsertRowid)
        firstId = last - group.length + 1
        const range = { first: firstId, last }
        if (this.#s.linkClaims.run(range).changes < group.length) this.#s.addClaimedJobs.run(range)
      }
      for (let k = 0; k < group.length; k++) {
        const row = group[k] as ClaimRow
        const runId = firstId + k
        outcomes[row.index] =
          row.kind === 'skipped' ? { kind: 'skipped', runId, reason: row.detail as string } : { kind: row.kind, runId }
        if (running && holders !== undefined && !holders.has(row.claim.job))
          holders.set(row.claim.job, { id: runId, instance_id: instanceId, started_at: startedAt })
      }
    }
  }

  /** `Store.cancelRetry` in the caller's transaction: the cancelled attempt's id, undefined if no retry was pending. */
  cancelRetry(runId: number, message: string, now: number): number | undefined {
    const failed = this.#s.getRun.get(runId)
    if (failed === undefined || this.#s.takeRetry.run(runId).changes === 0) return undefined
    const { job, slot, trigger, instance_id: instanceId } = failed
    const retry = { job, slot, trigger, attempt: failed.attempt + 1, startedAt: now, instanceId }
    const id = this.#insertRun({ ...retry, status: 'cancelled', finishedAt: now, detail: null, active: 0 }, false)
    this.#s.finishRun.run({
      id,
      ...finishedRun({ status: 'cancelled', finishedAt: now, errorMessage: message, codeDone: true }, (set) =>
        set ? 1 : 0,
      ),
    })
    return id
  }

  begin(run: BeginRun, instanceId: string, now: number): BeginOutcome {
    const { job, slot, trigger, attempt } = run
    // A retry is begun once, by whichever process takes it first (its owner, or one that adopted it).
    if (run.retryOf !== undefined && this.#s.takeRetry.run(run.retryOf).changes === 0) return { kind: 'taken' }
    const begun = { job, slot, trigger, attempt, startedAt: now, instanceId }
    const row = run.overlap === 'skip' ? this.#s.holder.get(job) : undefined
    if (row !== undefined) {
      const holder = toHolder(row)
      if (run.whenBusy !== 'record') return { kind: 'busy', holder }
      const reason = stillRunning(row, now)
      const runId = this.#insertRun({ ...begun, status: 'skipped', finishedAt: now, detail: reason, active: 0 }, false)
      return { kind: 'skipped', runId, reason, holder }
    }
    const runId = this.#insertRun(
      { ...begun, status: 'running', finishedAt: null, detail: run.detail ?? null, active: 1 },
      false,
    )
    return { kind: 'started', runId }
  }
}

/** Whether two rows of a round write the same columns but the job. */
function sameColumns(a: ClaimRow, b: ClaimRow, now: number): boolean {
  return (
    a.claim.slot === b.claim.slot &&
    (a.claim.startAt ?? now) === (b.claim.startAt ?? now) &&
    a.claim.trigger === b.claim.trigger &&
    a.status === b.status &&
    a.detail === b.detail
  )
}
