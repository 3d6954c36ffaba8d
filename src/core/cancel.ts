/**
 * Cancelling a run (`Scheduler.cancel`, `crons cancel`): the attempt's `ctx.signal` is aborted with
 * an error saying it was cancelled (a command job's process group gets SIGTERM, then SIGKILL after its
 * grace, as at a timeout), and the attempt is recorded `cancelled` through the runner's one recording
 * path. A cancel is final: no retry follows, and hooks see `final: true` (`afterRun` runs; `onError`
 * does not, a cancel being asked for rather than a failure). As after a timeout, the overlap guard
 * keeps the job held until its code really stops.
 *
 * Only the process running an attempt can stop its code. An attempt executing in this process is
 * cancelled at once. Any other running attempt (in another process, or here but with its code not
 * called yet) gets a request kept with its row (`Store.requestCancel`), which its owner acts on at
 * its next heartbeat (`Housekeeping`); the caller waits for the outcome up to `waitMs`.
 */
import { hostname } from 'node:os'
import { CronsError, quote } from '../errors.js'
import type { InstanceRecord, RunRecord, RunStatus, Store } from '../store/types.js'
import { type Clock, StoreTimeClock } from './clock.js'
import { DEFAULT_INSTANCE_TTL_MS } from './housekeeping.js'
import type { InFlight } from './inflight.js'
import type { StateAccess } from './pause.js'
import { processGone } from './process-identity.js'

/**
 * How long a cancel waits for another process to act on its request: a live instance heartbeats
 * within the instance TTL, by definition of live.
 */
export const DEFAULT_CANCEL_WAIT_MS = DEFAULT_INSTANCE_TTL_MS
/** How often the waiting caller reads the run again. */
const POLL_MS = 250

/** What a cancelled attempt's record and its signal's reason say. */
export function cancelMessage(reason?: string): string {
  return reason ? `cancelled: ${reason}` : 'cancelled by request'
}

/** The error a cancelled attempt's signal is aborted with. */
export function cancelledError(message: string): Error {
  const error = new Error(message)
  // As an aborted fetch names it; the engine's frames say nothing about the job.
  error.name = 'AbortError'
  error.stack = `${error.name}: ${error.message}`
  return error
}

/**
 * Decide run `runId`'s executing attempt as cancelled. Resolves with the status its outcome was
 * recorded with (`cancelled`, or what its code came to first if it was already deciding), or
 * undefined at once when no attempt of that run is executing here with its outcome still to record.
 */
export function cancelActive(inFlight: InFlight, runId: number, error: Error): Promise<RunStatus | undefined> {
  const entry = inFlight.activeAttempt(runId)
  if (entry === undefined || entry.recorded) return Promise.resolve(undefined)
  return new Promise((resolve) => {
    const earlier = entry.onRecorded
    entry.onRecorded = (status) => {
      earlier?.(status)
      resolve(status)
    }
    entry.cancel(error)
  })
}

/** What `cancelRun` needs of the caller. */
export interface CancelEnv {
  store: Store
  clock: Clock
  /** `cancelActive` on this process's runner; undefined when it has none (nothing runs here). */
  cancelActive: ((runId: number, error: Error) => Promise<RunStatus | undefined>) | undefined
}

export interface CancelOptions {
  /** Said in the record: "cancelled: <reason>" (default "cancelled by request"). */
  reason?: string
  /** How long to wait for another process to act on the request. @default 30_000 */
  waitMs?: number
}

/**
 * Cancel run `runId`; resolves with its record once it is recorded `cancelled`. Rejects with
 * `RUN_UNKNOWN` (no such run), `RUN_FINISHED` (it is not running, or ended otherwise before the
 * cancel took effect) or `CANCEL_PENDING` (its process has not acted on the request within `waitMs`;
 * the request stands).
 */
export async function cancelRun(env: CancelEnv, runId: number, options: CancelOptions = {}): Promise<RunRecord> {
  const { store } = env
  const found = await store.getRun(runId)
  if (found === undefined) throw new CronsError('RUN_UNKNOWN', `no run ${runId} in ${store.location}`)
  if (found.status !== 'running') throw finished(found)
  const message = cancelMessage(options.reason)
  const here = await env.cancelActive?.(runId, cancelledError(message))
  if (here !== undefined) return settledAs(await latest(store, found), here)
  // An owner known to be gone acts on nothing: its run is interrupted now, as a live peer would.
  const gone = await deadOwner(store, found)
  if (gone !== undefined) {
    await store.reapDeadInstances(env.clock.now(), NO_EXPIRY, [gone.id])
    const after = await latest(store, found)
    if (after.status !== 'running') {
      throw new CronsError(
        'RUN_FINISHED',
        `${describeRun(after)} is not running: its process (host ${gone.host}, pid ${gone.pid}) is gone, so it is now recorded ${after.status}`,
      )
    }
  }
  // Not executing here: ask the process running it, and wait for its answer.
  const asked = (await store.requestCancel(runId, message)) ?? found
  if (asked.status !== 'running') throw finished(asked)
  const ended = await waitForEnd(env, runId, options.waitMs ?? DEFAULT_CANCEL_WAIT_MS)
  if (ended !== undefined) return settledAs(ended, ended.status)
  const owner = (await store.listInstances()).find((i) => i.id === found.instanceId)
  const where = owner ? ` (host ${owner.host}, pid ${owner.pid})` : ''
  const waited = options.waitMs ?? DEFAULT_CANCEL_WAIT_MS
  throw new CronsError(
    'CANCEL_PENDING',
    `${describeRun(found)} runs on instance ${found.instanceId}${where}, which has not acted on the cancel within ${waited / 1000}s; the request stands`,
    {
      suggestions: [
        'a live scheduler acts on it at its next heartbeat; a dead one has its runs marked interrupted instead',
      ],
    },
  )
}

/**
 * `cancelRun` from a process that runs nothing itself (`crons cancel`): the state is read first, so
 * an unknown id neither creates the state nor waits for a write lock.
 */
export async function cancelInState(
  state: StateAccess,
  clock: Clock,
  runId: number,
  options: CancelOptions = {},
): Promise<RunRecord> {
  const reading = await state.read()
  if (reading === undefined) throw new CronsError('RUN_UNKNOWN', `no run ${runId}: nothing has run yet (no state)`)
  try {
    if ((await reading.getRun(runId)) === undefined) {
      throw new CronsError('RUN_UNKNOWN', `no run ${runId} in ${reading.location}`)
    }
  } finally {
    await release(state, reading)
  }
  const store = await state.write()
  try {
    // What it records (a dead owner reaped) is stamped on the store's clock, as a scheduler's would be.
    const storeTime = new StoreTimeClock(clock)
    storeTime.offsetMs = await store.clockOffset(() => clock.now())
    return await cancelRun({ store, clock: storeTime, cancelActive: undefined }, runId, options)
  } finally {
    await release(state, store)
  }
}

function release(state: StateAccess, store: Store): Promise<void> {
  return state.release ? state.release(store) : store.close()
}

async function latest(store: Store, run: RunRecord): Promise<RunRecord> {
  return (await store.getRun(run.id)) ?? run
}

/** The run, if the cancel took effect; else why not. */
function settledAs(run: RunRecord, status: RunStatus): RunRecord {
  if (status === 'cancelled') return run
  throw new CronsError('RUN_FINISHED', `${describeRun(run)} ended ${status} before it could be cancelled`)
}

/** The run once it is no longer `running`, or undefined after `waitMs`. */
async function waitForEnd(env: CancelEnv, runId: number, waitMs: number): Promise<RunRecord | undefined> {
  const { clock, store } = env
  const deadline = clock.now() + waitMs
  for (;;) {
    const run = await store.getRun(runId)
    if (run === undefined) throw new CronsError('RUN_UNKNOWN', `run ${runId} was deleted from ${store.location}`)
    if (run.status !== 'running') return run
    const left = deadline - clock.now()
    if (left <= 0) return undefined
    await new Promise<void>((resolve) => clock.setTimeout(resolve, Math.min(POLL_MS, left)))
  }
}

/** A TTL no heartbeat outlives: reaping with it reaps only the instances named. */
const NO_EXPIRY = Number.MAX_SAFE_INTEGER

/**
 * The instance a running attempt belongs to, when it cannot act on a request: it stopped or was
 * reaped, or it ran on this host and its process is gone. An instance elsewhere that merely went
 * quiet is left to its peers, who know its lease.
 */
async function deadOwner(store: Store, run: RunRecord): Promise<InstanceRecord | undefined> {
  const owner = (await store.listInstances()).find((i) => i.id === run.instanceId)
  if (owner === undefined) return undefined
  if (owner.stoppedAt !== null || owner.reapedAt !== null) return owner
  if (owner.host !== hostname() || owner.pid === process.pid) return undefined
  return processGone(owner.pid, owner.processStart) ? owner : undefined
}

function describeRun(run: RunRecord): string {
  return `run ${run.id} of job ${quote(run.job)}`
}

function finished(run: RunRecord): CronsError {
  return new CronsError('RUN_FINISHED', `${describeRun(run)} is not running: it ended ${run.status}`)
}
