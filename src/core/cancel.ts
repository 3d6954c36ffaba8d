// Cancelling a run (`Scheduler.cancel`, `crons cancel`): an attempt executing here has its signal
// aborted and is recorded `cancelled` (final: no retry, no `onError`); any other gets a request with its
// row, acted on at its owner's next heartbeat, waited for up to `waitMs`. A failed attempt's retry
// waiting out its backoff is recorded `cancelled` at once. docs/engine.md: "Branches".
import { CronsError, quote } from '../errors.js'
import type { AttemptRecord, InstanceRecord, RunStatus, Store } from '../store/types.js'
import { type Clock, StoreTimeClock } from './clock.js'
import { DEFAULT_INSTANCE_TTL_MS } from './housekeeping.js'
import { type StateAccess, storeToCheck, withStore } from './pause.js'
import { processGoneHere } from './process-identity.js'

/** A live instance heartbeats within the instance TTL, by definition of live. */
export const DEFAULT_CANCEL_WAIT_MS = DEFAULT_INSTANCE_TTL_MS
const POLL_MS = 250
/** A TTL no heartbeat outlives: reaping with it reaps only the instances named. */
const NO_EXPIRY = Number.MAX_SAFE_INTEGER
/** How many of a job's later runs are looked through for the retry of a failed attempt. */
const RETRY_SEARCH = 100
/** An attempt a cancel can act on: running, or ended with a retry maybe pending. */
const CANCELLABLE: ReadonlySet<RunStatus> = new Set(['running', 'failed', 'timed_out'])

export interface CancelEnv {
  store: Store
  clock: Clock
  /** `Runner.cancel` of this process; undefined when nothing runs here. */
  cancelActive: ((runId: number, message: string) => Promise<RunStatus | undefined>) | undefined
  /** `Runner.cancelRetry` of this process: a retry whose backoff runs here is cancelled by its run. */
  cancelRetry?: (runId: number, message: string) => Promise<AttemptRecord | undefined>
  /** Aborted when the asking scheduler stops: the wait for another process ends there. */
  stopped?: AbortSignal
}

export interface CancelOptions {
  /** Said in the record: "cancelled: <reason>" (default "cancelled by request"). */
  reason?: string
  /** How long to wait for another process to act on the request. @default 30_000 */
  waitMs?: number
}

/**
 * Resolves once the run is recorded `cancelled` (for a failed attempt whose retry waits out its backoff:
 * that retry, recorded cancelled); rejects `RUN_UNKNOWN`, `RUN_FINISHED` or `CANCEL_PENDING`.
 */
export async function cancelRun(env: CancelEnv, runId: number, options: CancelOptions = {}): Promise<AttemptRecord> {
  const { store } = env
  const found = await store.getRun(runId)
  if (found === undefined) throw new CronsError('RUN_UNKNOWN', `no run ${runId} in ${store.location}`)
  const message = options.reason ? `cancelled: ${options.reason}` : 'cancelled by request'
  if (found.status !== 'running' && CANCELLABLE.has(found.status)) {
    // Its pending retry, if any: cancelled by the run waiting it out here, else in the store (its owner's
    // backoff then finds it taken). One begun first is cancelled as any running attempt.
    const retry =
      (await env.cancelRetry?.(runId, message)) ?? (await store.cancelRetry(runId, message, env.clock.now()))
    if (retry !== undefined) return retry
    const begun = await retryOf(store, found)
    if (begun !== undefined && CANCELLABLE.has(begun.status)) return cancelRun(env, begun.id, options)
  }
  if (found.status !== 'running') throw finished(found)
  const here = await env.cancelActive?.(runId, message)
  if (here !== undefined) return endedAs(await latest(store, found), here)
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
  const asked = (await store.requestCancel(runId, message)) ?? found
  if (asked.status !== 'running') throw finished(asked)
  const waited = options.waitMs ?? DEFAULT_CANCEL_WAIT_MS
  const ended = await waitForEnd(env, runId, waited)
  if (ended !== undefined) return endedAs(ended, ended.status)
  const owner = await ownerOf(store, found)
  const where = owner ? ` (host ${owner.host}, pid ${owner.pid})` : ''
  throw new CronsError(
    'CANCEL_PENDING',
    `${describeRun(found)} runs on instance ${found.instanceId}${where}, which has not acted on the cancel ${env.stopped?.aborted ? 'before this scheduler stopped' : `within ${waited / 1000}s`}; the request stands`,
    {
      suggestions: [
        'a live scheduler acts on it at its next heartbeat; a dead one has its runs marked interrupted instead',
      ],
    },
  )
}

/** `cancelRun` from a process that runs nothing (`crons cancel`): an unknown id never opens the state for writing. */
export async function cancelInState(
  state: StateAccess,
  clock: Clock,
  runId: number,
  options: CancelOptions = {},
): Promise<AttemptRecord> {
  const reading = await storeToCheck(state)
  if (reading === undefined) throw new CronsError('RUN_UNKNOWN', `no run ${runId}: nothing has run yet (no state)`)
  if ((await withStore(state, reading, (store) => store.getRun(runId))) === undefined) {
    throw new CronsError('RUN_UNKNOWN', `no run ${runId} in ${reading.location}`)
  }
  return withStore(state, await state.write(), async (store) => {
    // A dead owner reaped is stamped on the store's clock, as a scheduler's would be.
    const storeTime = new StoreTimeClock(clock)
    storeTime.offsetMs = await store.clockOffset(() => clock.now())
    return cancelRun({ store, clock: storeTime, cancelActive: undefined }, runId, options)
  })
}

/** The attempt that retried `failed`, if one began (looked for among its job's next runs). */
async function retryOf(store: Store, failed: AttemptRecord): Promise<AttemptRecord | undefined> {
  const later = await store.listRuns({ job: failed.job, afterId: failed.id, limit: RETRY_SEARCH })
  const { slot, trigger, attempt } = failed
  return later.find((run) => run.slot === slot && run.trigger === trigger && run.attempt === attempt + 1)
}

async function latest(store: Store, run: AttemptRecord): Promise<AttemptRecord> {
  return (await store.getRun(run.id)) ?? run
}

function endedAs(run: AttemptRecord, status: RunStatus): AttemptRecord {
  if (status === 'cancelled') return run
  throw new CronsError('RUN_FINISHED', `${describeRun(run)} ended ${status} before it could be cancelled`)
}

async function waitForEnd(env: CancelEnv, runId: number, waitMs: number): Promise<AttemptRecord | undefined> {
  const { clock, store, stopped } = env
  const deadline = clock.now() + waitMs
  for (;;) {
    const run = await store.getRun(runId)
    if (run === undefined) throw new CronsError('RUN_UNKNOWN', `run ${runId} was deleted from ${store.location}`)
    if (run.status !== 'running') return run
    const left = deadline - clock.now()
    if (left <= 0 || stopped?.aborted) return undefined
    await new Promise<void>((resolve) => {
      const end = () => {
        clock.clearTimeout(timer)
        stopped?.removeEventListener('abort', end)
        resolve()
      }
      const timer = clock.setTimeout(end, Math.min(POLL_MS, left))
      stopped?.addEventListener('abort', end)
    })
  }
}

async function ownerOf(store: Store, run: AttemptRecord): Promise<InstanceRecord | undefined> {
  return (await store.listInstances()).find((i) => i.id === run.instanceId)
}

/** The run's owner if it cannot act: stopped, reaped, or on this host with its process gone. */
async function deadOwner(store: Store, run: AttemptRecord): Promise<InstanceRecord | undefined> {
  const owner = await ownerOf(store, run)
  if (owner === undefined) return undefined
  const dead = owner.stoppedAt !== null || owner.reapedAt !== null || processGoneHere(owner)
  return dead ? owner : undefined
}

function describeRun(run: AttemptRecord): string {
  return `run ${run.id} of job ${quote(run.job)}`
}

function finished(run: AttemptRecord): CronsError {
  return new CronsError('RUN_FINISHED', `${describeRun(run)} is not running: it ended ${run.status}`)
}
