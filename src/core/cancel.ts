/**
 * Cancelling a run (`Scheduler.cancel`): the attempt's `ctx.signal` is aborted with an error saying it
 * was cancelled (a command job's process group gets SIGTERM, then SIGKILL after its grace, as at a
 * timeout), and the attempt is recorded `cancelled` at once through the runner's one recording path.
 * A cancel is final: no retry follows, and hooks see `final: true` (`afterRun` runs; `onError` does
 * not, a cancel being asked for rather than a failure). As after a timeout, the overlap guard keeps
 * the job held until its code really stops.
 *
 * Only the process running the attempt can stop its code, so only attempts executing in this process
 * are cancelled; any other run is refused with a one-line error naming the run and where it runs.
 */
import { CronsError, quote } from '../errors.js'
import type { RunRecord, RunStatus, Store } from '../store/types.js'
import type { InFlight } from './inflight.js'

/** The error a cancelled attempt's signal is aborted with; its message is the record's error. */
export function cancelledError(reason?: string): Error {
  const error = new Error(reason ? `cancelled: ${reason}` : 'cancelled by request')
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

/** What `cancelRun` needs of the scheduler. */
export interface CancelEnv {
  store: Store
  /** This process's instance id. */
  instanceId: string
  /** `cancelActive` on this process's runner (undefined when it has none: nothing runs here). */
  cancelActive: ((runId: number, error: Error) => Promise<RunStatus | undefined>) | undefined
}

/**
 * Cancel run `runId` if its attempt executes in this process; resolves with its record once the
 * outcome is written. Rejects with `RUN_UNKNOWN` (no such run), `RUN_FINISHED` (it is not running)
 * or `RUN_NOT_HERE` (it runs in another process, or its code has not been called yet).
 */
export async function cancelRun(env: CancelEnv, runId: number, reason?: string): Promise<RunRecord> {
  const { store } = env
  const found = await store.getRun(runId)
  if (found === undefined) throw new CronsError('RUN_UNKNOWN', `no run ${runId} in ${store.location}`)
  if (found.status !== 'running') throw finished(found)
  const status = await env.cancelActive?.(runId, cancelledError(reason))
  const now = (await store.getRun(runId)) ?? found
  if (status === 'cancelled') return now
  if (status !== undefined) {
    throw new CronsError('RUN_FINISHED', `${describeRun(found)} ended ${status} before it could be cancelled`)
  }
  if (now.status !== 'running') throw finished(now)
  if (now.instanceId === env.instanceId) {
    throw new CronsError(
      'RUN_NOT_HERE',
      `${describeRun(now)} has not called its code yet (claimed ahead of its instant, or in a beforeRun hook): nothing to cancel yet`,
      { suggestions: ['cancel it again once it runs'] },
    )
  }
  const owner = (await store.listInstances()).find((i) => i.id === now.instanceId)
  const where = owner ? ` (host ${owner.host}, pid ${owner.pid})` : ''
  throw new CronsError(
    'RUN_NOT_HERE',
    `${describeRun(now)} runs on instance ${now.instanceId}${where}, not in this process: only the process running it can cancel it`,
  )
}

function describeRun(run: RunRecord): string {
  return `run ${run.id} of job ${quote(run.job)}`
}

function finished(run: RunRecord): CronsError {
  return new CronsError('RUN_FINISHED', `${describeRun(run)} is not running: it ended ${run.status}`)
}
