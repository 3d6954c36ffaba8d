/**
 * The store contract (docs/engine.md: "The files"). Every method is async so a networked store fits
 * behind it; all instants are epoch milliseconds. Exactly-once: `claimSlots` inserts (job, slot) under
 * a unique key in one write transaction, so of several schedulers sharing a store one wins each slot.
 * Every store also guarantees:
 * - Read-your-writes: once a method's promise resolves, every later call on any connection to the same
 *   state sees its effect (outcome writes may be batched; their promises resolve only once committed).
 * - Run ids are commit-ordered: a run becomes visible only after every run with a smaller id that will
 *   ever exist, so `listRuns({ afterId })` is a cursor that misses nothing (`logs --follow`).
 * - Clock: instants are the caller's (`now` arguments), on the store's clock (see `clockOffset`); the
 *   store never substitutes its own.
 */
import type { Trigger } from '../config/types.js'
import type { Heartbeat, InstanceFacts, InstanceRecord, NewInstance, ReapedRuns } from './instance-types.js'

export type {
  CancelRequest,
  Heartbeat,
  InstanceFacts,
  InstanceRecord,
  InstanceRole,
  NewInstance,
  ReapedRuns,
} from './instance-types.js'

export const RUN_STATUSES = [
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'interrupted',
  'cancelled',
  'skipped',
  'missed',
] as const

export type RunStatus = (typeof RUN_STATUSES)[number]

/** One attempt (or one skipped/missed record). */
export interface AttemptRecord {
  id: number
  job: string
  /** The scheduled instant this attempt serves. */
  slot: number
  trigger: Trigger
  attempt: number
  status: RunStatus
  startedAt: number
  finishedAt: number | null
  durationMs: number | null
  errorMessage: string | null
  errorStack: string | null
  /** JSON text of the job's return value (truncated), if any. */
  result: string | null
  /** JSON text: array of `{ at, level, text }` lines the job wrote with ctx.log (bounded). */
  output: string | null
  /** Why a run was skipped, or for `missed`/`catch-up` the JSON `{ count, first, last }`. */
  detail: string | null
  instanceId: string
  /** True while the job's code is still executing (even after a timeout was recorded). */
  active: boolean
}

export interface JobState {
  name: string
  /** The latest slot served (claimed, skipped or recorded missed). */
  lastSlot: number | null
  paused: boolean
  /** Since when the job is paused; null when it is not, or was paused before schema version 5 recorded it. */
  pausedAt: number | null
  /** When this job was first seen in a config. */
  createdAt: number
  /** When a config last listed this job. */
  seenAt: number
}

export interface MissedInfo {
  count: number
  first: number
  last: number
}

/** A request to serve one slot. */
export interface SlotClaim {
  job: string
  slot: number
  trigger: Trigger
  overlap: 'skip' | 'allow'
  /** For catch-up runs and missed records: which slots were missed. */
  missed?: MissedInfo
  /** `'missed'`: record the slots as missed instead of starting a run. */
  record?: 'run' | 'missed'
  /** The run's `startedAt`: the due instant for a slot claimed ahead. Defaults to the batch's `now`. */
  startAt?: number
}

export type ClaimOutcome =
  /** This process won the slot; a `running` attempt row was inserted. */
  | { kind: 'started'; runId: number }
  /** Another process (or an earlier pass) already served this slot. */
  | { kind: 'taken' }
  /** The job is still running (in any process) and overlap is 'skip': a `skipped` row was inserted. */
  | { kind: 'skipped'; runId: number; reason: string }
  /** The job is paused: a `skipped` row was inserted with reason "paused". */
  | { kind: 'paused'; runId: number }
  | { kind: 'missed'; runId: number }

/** Who holds a running job, for "refused: job is running" messages. */
export interface RunHolder {
  runId: number
  instanceId: string
  host: string | null
  pid: number | null
  startedAt: number
}

export type BeginOutcome =
  | { kind: 'started'; runId: number }
  /** `retryOf` named a retry that was already begun (by another process that adopted it). */
  | { kind: 'taken' }
  | { kind: 'busy'; holder: RunHolder }
  /** Busy, with `whenBusy: 'record'`: a `skipped` attempt row was inserted with the reason. */
  | { kind: 'skipped'; runId: number; reason: string; holder: RunHolder }

export interface BeginRun extends Pick<AttemptRecord, 'job' | 'slot' | 'trigger' | 'attempt'> {
  /** 'skip' refuses when the job is active anywhere; 'allow' always starts. */
  overlap: 'skip' | 'allow'
  /** On refusal: nothing (`'refuse'`, a manual run), or a `skipped` row with the reason (`'record'`, a retry). */
  whenBusy?: 'refuse' | 'record'
  detail?: string | null
  /**
   * The failed attempt whose pending retry this is: its `retryAt` is cleared in the same transaction;
   * if it was already cleared the outcome is `taken` and nothing is inserted.
   */
  retryOf?: number
}

/** A failed attempt (`runId`) whose retry waits out its backoff (see `RunOutcome.retryAt`). */
export interface PendingRetry extends Pick<AttemptRecord, 'job' | 'slot' | 'trigger' | 'attempt'> {
  runId: number
  retryAt: number
}

export interface RunOutcome {
  /** `missed`: a run claimed ahead whose instant was found later than its misfire grace; never called. */
  status: Exclude<RunStatus, 'running' | 'skipped'>
  finishedAt: number
  /** Replaces the run's detail (a `missed` run's count and range); absent or null keeps the claim's. */
  detail?: string | null
  errorMessage?: string | null
  errorStack?: string | null
  result?: string | null
  output?: string | null
  /** False when the job's code is still executing (a timeout recorded at its deadline). */
  codeDone: boolean
  /**
   * A retry of this run is due then. Kept with the row until a retry begins (`beginRun` with
   * `retryOf`), so a crash during the backoff does not lose it: a live scheduler adopts it.
   */
  retryAt?: number | null
}

export interface RunFilter {
  job?: string
  status?: RunStatus
  trigger?: Trigger
  /** Attempts started at or after this instant. */
  since?: number
  /** Only ids greater than this (for --follow; ids are commit-ordered, see above). */
  afterId?: number
  /** Newest first unless `afterId` is given (then oldest first). */
  limit?: number
}

export interface StoreInfo {
  location: string
  schemaVersion: number
  /** What the state costs on disk, where a store can tell (a SQLite file); null otherwise. */
  sizeBytes: number | null
}

/** A copy of the state made by `Store.backup`: its absolute path and size. */
export interface StateBackup {
  file: string
  sizeBytes: number
}

/** What `crons state backup` copies from: a store, or a state file of an older schema version opened only to copy it. */
export type StateSource = Pick<Store, 'location' | 'backup' | 'close'>

export interface Store {
  /** Where the state lives, as shown to people (never with a password). */
  readonly location: string

  /**
   * Milliseconds to add to this host's clock to get the store's clock (the database server's for
   * Postgres, 0 for SQLite). Every instant handed to the store is expected on the store's clock: hosts
   * agree on leases, heartbeats and due-ness only through it. Measured against `hostNow` (default
   * `Date.now`) on each call, to within half a round trip.
   */
  clockOffset(hostNow?: () => number): Promise<number>

  /** Register (or re-register) this process with its first heartbeat. A reaped instance is never revived. */
  registerInstance(instance: NewInstance): Promise<void>
  /**
   * Renew the lease and learn, in the same round trip, what to act on. Rejects with `STATE_GONE` when
   * the store is no longer the one opened (a state file deleted or replaced, the error saying where
   * what this connection held was saved; a schema dropped).
   */
  heartbeat(instanceId: string, now: number): Promise<Heartbeat>
  /**
   * Mark the instance stopped (clean shutdown). Its runs with an outcome whose code never settled lose
   * their overlap guard: a stopped instance holds no job.
   */
  stopInstance(instanceId: string, now: number): Promise<void>
  listInstances(): Promise<InstanceRecord[]>
  /**
   * Reap (fence: later writes refused) instances whose heartbeat is older than `now - ttlMs`, and those
   * in `dead`. Runs left active by reaped or stopped instances become inactive, and `interrupted` if
   * still `running` (finished at the owner's last heartbeat). Returns the runs changed.
   */
  reapDeadInstances(now: number, ttlMs: number, dead?: readonly string[]): Promise<ReapedRuns>
  /**
   * Record facts about a live instance; only the keys given change. Registering again starts from the
   * registration's facts. An unknown or reaped instance is left alone.
   */
  updateInstance(instanceId: string, facts: InstanceFacts): Promise<void>

  /**
   * Make sure a row exists for each job name; returns every job the store knows. With `serving`, jobs
   * never served are served from `now`, so the slots of a later outage count as missed, not unknown.
   */
  syncJobs(names: readonly string[], now: number, options?: { serving?: boolean }): Promise<JobState[]>
  listJobs(): Promise<JobState[]>
  /**
   * Pause or resume a job. Pausing records `now` as `pausedAt` unless already paused (the instant
   * stays); resuming clears it. False when no such job is known.
   */
  setPaused(job: string, paused: boolean, now: number): Promise<boolean>

  /** Serve several slots atomically, in one transaction, in the given order. */
  claimSlots(claims: readonly SlotClaim[], instanceId: string, now: number): Promise<ClaimOutcome[]>
  /** Start an attempt outside the slot table (manual runs, retries). */
  beginRun(run: BeginRun, instanceId: string, now: number): Promise<BeginOutcome>
  /**
   * Record an attempt's outcome; may be written in one transaction with others handed over in the same
   * turn. Settles once durable (read-your-writes). Fenced: false, changing nothing, when the run's owner
   * was reaped.
   */
  finishRun(runId: number, outcome: RunOutcome): Promise<boolean>
  /** The job's code finally settled after its outcome was recorded (late after a timeout). */
  releaseRun(runId: number): Promise<void>

  /**
   * Cancel the retry pending after failed attempt `runId` (`RunOutcome.retryAt`), in one transaction: it
   * is taken as `beginRun` with `retryOf` takes it, and recorded as a finished `cancelled` attempt (the
   * next attempt of the same job, slot and trigger, on the failed attempt's instance, started and
   * finished `now`, `message` its error). Returns that attempt; undefined when no retry is pending (none,
   * or already begun or cancelled).
   */
  cancelRetry(runId: number, message: string, now: number): Promise<AttemptRecord | undefined>
  /** Retries waiting out their backoff whose owner stopped or was reaped, soonest first. */
  orphanedRetries(): Promise<PendingRetry[]>

  getRun(id: number): Promise<AttemptRecord | undefined>
  listRuns(filter: RunFilter): Promise<AttemptRecord[]>
  /**
   * Ask the owner of a `running` run to cancel it: `message` is kept with the run and read at the
   * owner's next heartbeat. Returns the run as it is after the call; undefined for an unknown id.
   */
  requestCancel(runId: number, message: string): Promise<AttemptRecord | undefined>
  /** Attempts currently executing (active), across all instances. */
  activeRuns(): Promise<AttemptRecord[]>
  /** Per-status counts of attempts started at or after `since`. */
  countByStatus(since: number): Promise<Partial<Record<RunStatus, number>>>
  /** The latest attempt per job that is not `running` (for list-jobs). */
  lastRuns(): Promise<Map<string, AttemptRecord>>

  /**
   * One bounded step of pruning. A pass deletes attempts started before `now - keepDays` days or beyond
   * the newest `keepRuns` of their job (by id; 0 keeps none), and slot claims and instances stopped or
   * silent with no active run, older than keepDays or a day, whichever is longer (a claim is what stops
   * a slot from firing twice). Never an active run, one of the newest `keepRuns` younger than keepDays,
   * or a run started during the pass. Each call works about `budget.maxMs`, in batches of a few ms each
   * its own write transaction (others wait at most one batch); the next call with the same `now` and
   * `history` carries on, others start a new pass. Reads between steps never miss a kept run. Returns
   * the runs deleted (not claims or instances), and `done` once the pass is over.
   */
  prune(
    now: number,
    history: { keepDays: number; keepRuns: number },
    budget: { maxMs: number },
  ): Promise<{ deleted: number; done: boolean }>

  info(): Promise<StoreInfo>
  /**
   * Optional: copy the whole state consistently into `file` while others keep using it (`replace`: an
   * existing file is replaced); `file` the state itself or one of its own files, by any path, is refused
   * (`FLAG_INVALID`). Stores in a database server leave it out (use pg_dump).
   */
  backup?(file: string, options?: { replace?: boolean }): Promise<StateBackup>
  close(): Promise<void>
}
