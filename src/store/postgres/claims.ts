// New runs on Postgres, in the caller's transaction: slot claims and `beginRun`. docs/engine.md: "Postgres locking".
import { stillRunning } from '../messages.js'
import { type HolderRow, toHolder } from '../rows.js'
import type { BeginOutcome, BeginRun, ClaimOutcome, SlotClaim } from '../types.js'
import { insertRuns, type NewRunRow, newRunIds, type Queryable, type RunRow } from './sql.js'

const TAKEN: ClaimOutcome = Object.freeze({ kind: 'taken' })

type JobHolderRow = HolderRow & { job: string }

type LatestRunRow = { job: string; id: number; status: string; detail: string | null; finished_at: number }

/** A pause stretch's record: its row when this batch inserts it, else the id of the stored one. */
interface OpenPause {
  id: number
  count: number
  first: number
  last: number
  finishedAt: number
  row?: NewRunRow
}

function pauseDetail({ count, first, last }: Pick<OpenPause, 'count' | 'first' | 'last'>): string {
  return JSON.stringify({ paused: true, count, first, last })
}

type ClaimDecision = Pick<NewRunRow, 'status' | 'detail'> & {
  kind: 'started' | 'skipped' | 'paused' | 'missed'
}

export class PgRunWriter {
  constructor(
    private readonly S: string,
    private readonly lockKey: number,
  ) {}

  async claimBatch(
    db: Queryable,
    claims: readonly SlotClaim[],
    instanceId: string,
    now: number,
  ): Promise<ClaimOutcome[]> {
    const S = this.S
    const won = await this.#insertSlotKeys(db, claims)
    const outcomes = new Array<ClaimOutcome>(claims.length).fill(TAKEN)
    const wonIndexes = won.flatMap((w, i) => (w ? [i] : []))
    if (wonIndexes.length === 0) return outcomes
    const served = wonIndexes.map((i) => claims[i] as SlotClaim)

    // New jobs get their row (created at their first run's start); every won job's row is then locked, in name order.
    const firstStart = new Map<string, number>()
    for (const claim of served) if (!firstStart.has(claim.job)) firstStart.set(claim.job, claim.startAt ?? now)
    const names = [...firstStart.keys()].sort()
    await db.query(
      `INSERT INTO ${S}.jobs (name, last_slot, paused, created_at, seen_at)
       SELECT name, NULL, false, at, at FROM unnest($1::text[], $2::bigint[]) AS t(name, at)
       ON CONFLICT (name) DO NOTHING`,
      [names, names.map((name) => firstStart.get(name))],
    )
    const { rows: locked } = await db.query<{ name: string; paused: boolean }>(
      `SELECT name, paused FROM ${S}.jobs WHERE name = ANY($1::text[]) ORDER BY name FOR UPDATE`,
      [names],
    )
    const paused = new Set(locked.filter((row) => row.paused).map((row) => row.name))
    const needsHolders = served.some((claim) => claim.overlap === 'skip' && claim.record !== 'missed')
    const holders = needsHolders ? await this.#holders(db, names) : new Map<string, JobHolderRow>()
    const pauses = paused.size > 0 ? await this.#openPauses(db, [...paused]) : new Map<string, OpenPause>()
    /** Stored pause records that claims of this batch extend. */
    const extended = new Map<number, OpenPause>()

    // Ids are taken before deciding, so a skip reason can name a run started earlier in this batch.
    const ids = await newRunIds(db, S, this.lockKey, wonIndexes.length)
    const rows: NewRunRow[] = []
    for (let k = 0; k < wonIndexes.length; k++) {
      const index = wonIndexes[k] as number
      const claim = served[k] as SlotClaim
      const id = ids[k] as number
      // A pause is one record per paused stretch: a slot of a stretch already recorded extends it.
      const open = pauses.get(claim.job)
      if (paused.has(claim.job) && claim.record !== 'missed' && open !== undefined) {
        open.count++
        open.first = Math.min(open.first, claim.slot)
        open.last = Math.max(open.last, claim.slot)
        open.finishedAt = Math.max(open.finishedAt, claim.slot)
        if (open.row === undefined) extended.set(open.id, open)
        else {
          open.row.detail = pauseDetail(open)
          open.row.finishedAt = open.finishedAt
        }
        outcomes[index] = { kind: 'paused', runId: open.id }
        continue
      }
      const row = decide(claim, paused, holders)
      const startedAt = claim.startAt ?? now
      const running = row.status === 'running'
      const inserted: NewRunRow = {
        id,
        job: claim.job,
        slot: claim.slot,
        trigger: claim.trigger,
        attempt: 1,
        status: row.status,
        startedAt,
        finishedAt: running ? null : startedAt,
        detail: row.detail,
        instanceId,
        active: running,
      }
      rows.push(inserted)
      // Any new row of the job ends an open pause stretch; a pause record starts one.
      if (row.kind === 'paused') {
        const { slot } = claim
        pauses.set(claim.job, { id, count: 1, first: slot, last: slot, finishedAt: startedAt, row: inserted })
      } else pauses.delete(claim.job)
      outcomes[index] =
        row.kind === 'skipped'
          ? { kind: 'skipped', runId: id, reason: row.detail as string }
          : { kind: row.kind, runId: id }
      // A run started here holds the job for the later claims of the batch.
      if (running && !holders.has(claim.job)) {
        const holder = { job: claim.job, id, instance_id: instanceId, started_at: startedAt, host: null, pid: null }
        holders.set(claim.job, holder)
      }
    }
    await insertRuns(db, S, rows)
    if (extended.size > 0) {
      const stretches = [...extended.values()]
      await db.query(
        `UPDATE ${S}.runs r SET detail = u.detail, finished_at = greatest(r.finished_at, u.finished_at)
         FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS u(id, detail, finished_at) WHERE r.id = u.id`,
        [stretches.map((p) => p.id), stretches.map(pauseDetail), stretches.map((p) => p.finishedAt)],
      )
    }
    // Every won claim (run, skip, pause or missed record) raises its job's last served slot, never lowers it.
    await db.query(
      `UPDATE ${S}.jobs SET last_slot = greatest(coalesce(last_slot, t.slot), t.slot)
       FROM (SELECT job, max(slot) AS slot FROM unnest($1::text[], $2::bigint[]) AS u(job, slot) GROUP BY job) t
       WHERE jobs.name = t.job`,
      [served.map((c) => c.job), served.map((c) => c.slot)],
    )
    return outcomes
  }

  /** Whether each claim inserted its (slot, job) key; a key listed twice wins once, first listed. */
  async #insertSlotKeys(db: Queryable, claims: readonly SlotClaim[]): Promise<boolean[]> {
    const keys = [...new Map(claims.map((c) => [`${c.slot} ${c.job}`, c])).values()].sort(
      (a, b) => a.slot - b.slot || (a.job < b.job ? -1 : a.job > b.job ? 1 : 0),
    )
    const { rows } = await db.query<{ slot: number; job: string }>(
      `INSERT INTO ${this.S}.slot_claims (slot, job)
       SELECT * FROM unnest($1::bigint[], $2::text[])
       ON CONFLICT DO NOTHING RETURNING slot, job`,
      [keys.map((c) => c.slot), keys.map((c) => c.job)],
    )
    const left = new Set(rows.map((row) => `${row.slot} ${row.job}`))
    return claims.map((c) => left.delete(`${c.slot} ${c.job}`))
  }

  /** Of these jobs, those whose latest run is the record of a pause stretch (still open). */
  async #openPauses(db: Queryable, jobs: readonly string[]): Promise<Map<string, OpenPause>> {
    const { rows } = await db.query<LatestRunRow>(
      `SELECT DISTINCT ON (job) job, id, status, detail, finished_at FROM ${this.S}.runs
       WHERE job = ANY($1::text[]) ORDER BY job, id DESC`,
      [jobs],
    )
    const open = new Map<string, OpenPause>()
    for (const row of rows) {
      if (row.status !== 'skipped' || !row.detail?.startsWith('{"paused":true,')) continue
      const { count, first, last } = JSON.parse(row.detail) as { count: number; first: number; last: number }
      open.set(row.job, { id: row.id, count, first, last, finishedAt: row.finished_at })
    }
    return open
  }

  /** The oldest active run of each job, with what is known of its instance. */
  async #holders(db: Queryable, jobs: readonly string[]): Promise<Map<string, JobHolderRow>> {
    const { rows } = await db.query<JobHolderRow>(
      `SELECT DISTINCT ON (r.job) r.job, r.id, r.instance_id, r.started_at, i.host, i.pid
       FROM ${this.S}.runs r LEFT JOIN ${this.S}.instances i ON i.id = r.instance_id
       WHERE r.active AND r.job = ANY($1::text[]) ORDER BY r.job, r.id`,
      [jobs],
    )
    return new Map(rows.map((row) => [row.job, row]))
  }

  /** `Store.cancelRetry` in the caller's transaction: the cancelled attempt's id, undefined if no retry was pending. */
  async cancelRetry(db: Queryable, runId: number, message: string, now: number): Promise<number | undefined> {
    const S = this.S
    // Taken as `begin` takes it: a second taker waits for the first's row lock, then finds retry_at cleared.
    const { rows } = await db.query<Pick<RunRow, 'job' | 'slot' | 'trigger' | 'attempt' | 'instance_id'>>(
      `UPDATE ${S}.runs SET retry_at = NULL WHERE id = $1 AND retry_at IS NOT NULL
       RETURNING job, slot, "trigger", attempt, instance_id`,
      [runId],
    )
    const failed = rows[0]
    if (failed === undefined) return undefined
    const { job, slot, trigger } = failed
    const [id] = (await newRunIds(db, S, this.lockKey, 1)) as [number]
    const retry = {
      id,
      job,
      slot,
      trigger,
      attempt: failed.attempt + 1,
      startedAt: now,
      instanceId: failed.instance_id,
    }
    await insertRuns(db, S, [{ ...retry, status: 'cancelled', finishedAt: now, detail: null, active: false }])
    await db.query(`UPDATE ${S}.runs SET duration_ms = 0, error_message = $1 WHERE id = $2`, [message, id])
    return id
  }

  async begin(db: Queryable, run: BeginRun, instanceId: string, now: number): Promise<BeginOutcome> {
    const S = this.S
    const { job, slot, trigger, attempt } = run
    // A retry is begun once: a second taker waits for the first's row lock, then finds retry_at cleared.
    if (run.retryOf !== undefined) {
      const taken = await db.query(`UPDATE ${S}.runs SET retry_at = NULL WHERE id = $1 AND retry_at IS NOT NULL`, [
        run.retryOf,
      ])
      if ((taken.rowCount ?? 0) === 0) return { kind: 'taken' }
    }
    await db.query(
      `INSERT INTO ${S}.jobs (name, last_slot, paused, created_at, seen_at) VALUES ($1, NULL, false, $2, $2)
       ON CONFLICT (name) DO NOTHING`,
      [job, now],
    )
    await db.query(`SELECT 1 FROM ${S}.jobs WHERE name = $1 FOR UPDATE`, [job])
    const base = { job, slot, trigger, attempt, startedAt: now, instanceId }
    if (run.overlap === 'skip') {
      const row = (await this.#holders(db, [job])).get(job)
      if (row !== undefined) {
        const holder = toHolder(row)
        if (run.whenBusy !== 'record') return { kind: 'busy', holder }
        const reason = stillRunning(row, now)
        const [id] = (await newRunIds(db, S, this.lockKey, 1)) as [number]
        await insertRuns(db, S, [{ ...base, id, status: 'skipped', finishedAt: now, detail: reason, active: false }])
        return { kind: 'skipped', runId: id, reason, holder }
      }
    }
    const [id] = (await newRunIds(db, S, this.lockKey, 1)) as [number]
    const detail = run.detail ?? null
    await insertRuns(db, S, [{ ...base, id, status: 'running', finishedAt: null, detail, active: true }])
    return { kind: 'started', runId: id }
  }
}

function decide(claim: SlotClaim, paused: ReadonlySet<string>, holders: Map<string, JobHolderRow>): ClaimDecision {
  const { job, slot } = claim
  const missed = claim.missed === undefined ? null : JSON.stringify(claim.missed)
  if (claim.record === 'missed') {
    const detail = missed ?? JSON.stringify({ count: 1, first: slot, last: slot })
    return { kind: 'missed', status: 'missed', detail }
  }
  if (paused.has(job)) {
    return { kind: 'paused', status: 'skipped', detail: pauseDetail({ count: 1, first: slot, last: slot }) }
  }
  if (claim.overlap === 'skip') {
    const holder = holders.get(job)
    if (holder !== undefined) return { kind: 'skipped', status: 'skipped', detail: stillRunning(holder, claim.startAt) }
  }
  return { kind: 'started', status: 'running', detail: missed }
}
