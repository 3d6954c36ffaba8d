/**
 * The store contract. Every method is async so a networked store (Postgres) fits behind the same
 * interface; the SQLite store answers synchronously inside. All instants are epoch milliseconds.
 *
 * Exactly-once lives here: `claimSlots` inserts (job, slot) into a table with a unique key inside
 * one write transaction, so of several schedulers sharing a store exactly one wins each slot.
 *
 * What every store guarantees besides:
 * - Read-your-writes: once a method's promise resolves, every later call on any connection to the
 *   same state sees its effect (outcome writes may be batched, but their promises resolve only once
 *   committed).
 * - Run ids are commit-ordered: a run becomes visible only after every run with a smaller id that
 *   will ever exist is visible. A reader that has seen id N never later finds a new run with an id
 *   ≤ N, so `listRuns({ afterId })` is a cursor that misses nothing (`logs --follow`).
 * - Clock: instants are the caller's (`now` arguments), expected on the store's clock (see
 *   `clockOffset`); the store never substitutes its own.
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

export type RunStatus =
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'timed_out'
  | 'interrupted'
  | 'cancelled'
  | 'skipped'
  | 'missed'

export const RUN_STATUSES: readonly RunStatus[] = [
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'interrupted',
  'cancelled',
  'skipped',
  'missed',
]

/** One attempt (or one skipped/missed record). */
export interface RunRecord {
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
  /**
   * Since when the job is paused (epoch ms), null when it is not. Also null for a job paused before
   * the state recorded it (schema version 4 and older): it is paused, since an unknown instant.
   */
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
  /**
   * When the run starts (its `startedAt`): for a slot claimed ahead its due instant, for one already
   * due the claim's time. Defaults to the batch's `now`.
   */
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
  /** A `missed` row was inserted. */
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

export interface BeginRun {
  job: string
  slot: number
  trigger: Trigger
  attempt: number
  /** 'skip' refuses when the job is active anywhere; 'allow' always starts. */
  overlap: 'skip' | 'allow'
  /**
   * What a refusal leaves: nothing (`'refuse'`, the default: a manual run the caller reports), or a
   * `skipped` attempt row with the reason, in the same transaction (`'record'`: a retry).
   */
  whenBusy?: 'refuse' | 'record'
  detail?: string | null
  /**
   * The failed attempt whose pending retry this is: its `retryAt` is cleared in the same
   * transaction, and if it was already cleared the outcome is `taken` and nothing is inserted.
   */
  retryOf?: number
}

/** A failed attempt whose retry waits out its backoff (see `RunOutcome.retryAt`). */
export interface PendingRetry {
  /** The failed attempt. */
  runId: number
  job: string
  slot: number
  trigger: Trigger
  attempt: number
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
  settled: boolean
  /**
   * A retry of this run is due at this instant. Kept with the row until a retry begins (`beginRun`
   * with `retryOf`), so a crash during the backoff does not lose the retry: a live scheduler adopts
   * it (`orphanedRetries`).
   */
  retryAt?: number | null
}

export interface RunFilter {
  job?: string
  status?: RunStatus
  trigger?: Trigger
  /** Attempts started at or after this instant. */
  since?: number
  /** Only ids greater than this (for --follow; ids are commit-ordered, see the contract above). */
  afterId?: number
  /** Newest first unless `afterId` is given (then oldest first). */
  limit?: number
}

export interface StoreInfo {
  /** Where the state lives, as shown to people (a file path, `:memory:`, a URL without its password). */
  location: string
  schemaVersion: number
  /** What the state costs on disk, where a store can tell (a SQLite file); null otherwise. */
  sizeBytes: number | null
}

/** A copy of the state made by `Store.backup`. */
export interface StateBackup {
  /** Absolute path of the copy. */
  file: string
  sizeBytes: number
}

export interface Store {
  /** Where the state lives, as shown to people (never with a password). */
  readonly location: string

  /**
   * Milliseconds to add to this host's clock to get the store's clock (the database server's for
   * Postgres, 0 for SQLite, which lives on this host). Every instant handed to the store (`now`,
   * slots) is expected on the store's clock: hosts sharing a store agree on leases, heartbeats and
   * due-ness only through it. Measured on each call against `hostNow` (default `Date.now`), to within
   * half a round trip.
   */
  clockOffset(hostNow?: () => number): Promise<number>

  /**
   * Register (or re-register, e.g. with another role) this process and its first heartbeat. An
   * instance once reaped is never revived: register under a new id.
   */
  registerInstance(instance: NewInstance): Promise<void>
  /**
   * Renew the instance's lease and learn, in the same round trip, what the instance must act on (see
   * `Heartbeat`). Rejects with a `STATE_GONE` CronsError when the store is no longer the one opened:
   * a state file deleted or replaced under the running process (which would go on writing into a
   * file nobody sees; the error says where what this connection held was saved, nothing recorded is
   * lost), a schema dropped.
   */
  heartbeat(instanceId: string, now: number): Promise<Heartbeat>
  /**
   * Mark the instance stopped (clean shutdown). Its runs that have an outcome but whose code never
   * settled (a timeout, or an interruption at shutdown) lose their overlap guard: nothing of a
   * stopped instance will report them settled, and a stopped instance holds no job.
   */
  stopInstance(instanceId: string, now: number): Promise<void>
  listInstances(): Promise<InstanceRecord[]>
  /**
   * Instances whose heartbeat is older than `now - ttlMs`, and those in `dead` (known gone: a process
   * on this host that no longer exists), are reaped: marked so that their later writes are refused
   * (fencing). Runs left active by reaped or stopped instances become `interrupted` (if still
   * `running`, finished at the owner's last heartbeat) and inactive. Returns the runs changed: those
   * it interrupted, and those that already had an outcome and only lost their overlap guard.
   */
  reapDeadInstances(now: number, ttlMs: number, dead?: readonly string[]): Promise<ReapedRuns>
  /**
   * Record facts about a live instance; only the keys given change. Registering the instance again
   * starts from the facts its registration gives (a config hash, no clock offset). An unknown or
   * reaped instance is left alone.
   */
  updateInstance(instanceId: string, facts: InstanceFacts): Promise<void>

  /**
   * Make sure a row exists for each job name; returns the state of every job the store knows. With
   * `serving` (a scheduler taking charge of the jobs), those never served yet are served from `now`:
   * their last served slot becomes `now`, so the slots of a later outage count as missed rather than
   * unknown.
   */
  syncJobs(names: readonly string[], now: number, options?: { serving?: boolean }): Promise<JobState[]>
  listJobs(): Promise<JobState[]>
  /**
   * Pause or resume a job. Pausing a job that is not paused records `now` as its `pausedAt`; pausing
   * a paused job keeps the instant it was paused; resuming clears it. Returns false when no such job
   * is known.
   */
  setPaused(job: string, paused: boolean, now: number): Promise<boolean>

  /** Serve several slots atomically, in one transaction, in the given order. */
  claimSlots(claims: readonly SlotClaim[], instanceId: string, now: number): Promise<ClaimOutcome[]>
  /** Start an attempt outside the slot table (manual runs, retries). */
  beginRun(run: BeginRun, instanceId: string, now: number): Promise<BeginOutcome>
  /**
   * Record an attempt's outcome. May be deferred and written together with other outcomes handed
   * over in the same turn (one transaction); the promise settles once it is durable, and every later
   * call on the store sees it (read-your-writes). Fenced: resolves false, changing nothing, when the
   * run's owner instance was reaped — a late write of a run a peer already interrupted.
   */
  finishRun(runId: number, outcome: RunOutcome): Promise<boolean>
  /** The job's code finally settled after its outcome was recorded (late after a timeout). */
  settleRun(runId: number): Promise<void>

  /** Retries waiting out their backoff whose owner stopped or was reaped, soonest first. */
  orphanedRetries(): Promise<PendingRetry[]>

  getRun(id: number): Promise<RunRecord | undefined>
  listRuns(filter: RunFilter): Promise<RunRecord[]>
  /**
   * Ask the process running run `runId` to cancel it: `message` is kept with the run while it is
   * `running`, and its owner acts on it at its next heartbeat (`Heartbeat.cancelRequests`). A run that is not
   * running is left as it is. Returns the run as it is after the call; undefined for an unknown id.
   */
  requestCancel(runId: number, message: string): Promise<RunRecord | undefined>
  /** Attempts currently executing (active), across all instances. */
  activeRuns(): Promise<RunRecord[]>
  /** Per-status counts of attempts started at or after `since`. */
  countByStatus(since: number): Promise<Partial<Record<RunStatus, number>>>
  /** The latest finished attempt per job (for list-jobs): any status but `running`, so `skipped` and `missed` count. */
  lastRuns(): Promise<Map<string, RunRecord>>

  /**
   * One bounded step of pruning history. A pass deletes:
   * - attempts started before `now - keepDays` days;
   * - attempts beyond the newest `keepRuns` of their job (by id; 0 keeps none);
   * - slot claims, and instances stopped or silent with no active run, older than keepDays or a
   *   day, whichever is longer (a claim is what stops a slot from firing twice).
   * It never deletes an active run (`active`), whatever its age or rank, and never one of the newest
   * `keepRuns` of a job that is younger than keepDays. Runs that start during a pass are kept.
   *
   * Each call does about `budget.maxMs` of work (at least one batch of a few milliseconds; at most
   * one more after the time is up), each batch in its own short write transaction, so a claim or a
   * heartbeat sharing the store, or the thread, waits at most one batch. The next call with the same
   * `now` and `history` carries on where this one stopped; other arguments start a new pass. Reads
   * between steps see history partly pruned, never a kept run missing. Returns the runs deleted by
   * this step (claims and instances are not counted) and `done` once the pass is over: calling
   * again, with any arguments, starts a new pass.
   */
  prune(
    now: number,
    history: { keepDays: number; keepRuns: number },
    budget: { maxMs: number },
  ): Promise<{ deleted: number; done: boolean }>

  info(): Promise<StoreInfo>
  /**
   * Optional: copy the whole state, consistently, into the file `file` while other processes keep
   * using it (`replace`: an existing file is replaced). A store that keeps its state in a file has it;
   * a database server's store leaves it out, since the server's own tools (pg_dump) do this.
   */
  backup?(file: string, options?: { replace?: boolean }): Promise<StateBackup>
  close(): Promise<void>
}
