/**
 * The step from a failed attempt's backoff to its retry: the retry's row is begun in the store with
 * `retryOf` (which clears the failed attempt's pending retry in the same transaction), recorded
 * interrupted when shutdown cut the backoff, or skipped by the overlap guard. The runner (runner.ts)
 * calls it between attempts; it uses none of the runner's own state, only the store and the recorder.
 *
 * A store out of reach when the retry is due is waited out as the claim loop does (1 s, 2 s, 4 s… at
 * most 16 s, said once per outage): the retry starts once the store answers, late rather than never.
 */
import type { Store } from '../store/types.js'
import type { RunRequest } from './attempt.js'
import type { Clock } from './clock.js'
import { type EngineEmitter, emitRunFinished } from './events.js'
import { isUnreachable, type Outage } from './outage.js'
import type { Recorder } from './recorder.js'
import type { Progress, RunResult } from './runner.js'

export interface RetryStartDeps {
  store: Store
  recorder: Recorder
  clock: Clock
  events: EngineEmitter
  /** This process's current instance id. */
  instanceId: () => string
  /** Reports a store out of reach once per outage. */
  outage?: Outage
}

/** Waiting for the store to answer again: the first wait, doubled after each failure, up to the most. */
const UNREACHABLE_RETRY_MS = 1000
const UNREACHABLE_MAX_RETRY_MS = 16_000

/**
 * Begin retry `attempt` of the run whose failed attempt is `progress.runId` (clearing that row's
 * pending retry in the same transaction). Returns the run's end instead when the retry does not
 * start: shutdown came during the backoff (recorded interrupted), or the overlap guard skipped it,
 * or another process took it; undefined means the run ends with the failure before it.
 */
export async function beginRetry(
  deps: RetryStartDeps,
  request: RunRequest,
  progress: Progress,
  attempt: number,
  waited: boolean,
  /** Waits `ms` like the backoff: false when shutdown cut it short. */
  wait: (ms: number) => Promise<boolean>,
): Promise<{ status?: RunResult } | undefined> {
  const { job } = request
  const { store } = deps
  const now = deps.clock.now()
  const retry = { job: job.name, slot: request.slot, trigger: request.trigger, attempt, retryOf: progress.runId }
  if (!waited) {
    // Shutdown came during the backoff: the retry is recorded as interrupted, not silently dropped.
    const cancelled = await store.beginRun({ ...retry, overlap: 'allow' }, deps.instanceId(), now)
    if (cancelled.kind !== 'started') return undefined
    const message = 'retry cancelled: the scheduler shut down during the backoff'
    progress.runId = cancelled.runId
    progress.recorded = false
    await deps.recorder.finish(cancelled.runId, {
      status: 'interrupted',
      finishedAt: now,
      errorMessage: message,
      settled: true,
    })
    progress.recorded = true
    emitRunFinished(deps.events, request, cancelled.runId, attempt, 'interrupted', now, now, { message })
    return { status: { runId: cancelled.runId, status: 'interrupted', attempts: attempt, error: { message } } }
  }
  // A retry is guarded like a slot (SEMANTICS §6): with overlap 'skip' it does not start while
  // the job runs anywhere, the previous attempt of this run included (a timed-out attempt keeps
  // its row active until its code settles).
  const overlap = request.overlap ?? job.overlap
  let begunAt = now
  const next = await whenReachable(deps, wait, () => {
    begunAt = deps.clock.now()
    return store.beginRun({ ...retry, overlap, whenBusy: 'record' }, deps.instanceId(), begunAt)
  })
  // Shutdown came while the store was out of reach: the failed attempt's pending retry stays in the
  // store, to be adopted once this instance is stopped.
  if (next === undefined) return undefined
  if (next.kind === 'taken') return undefined
  if (next.kind === 'busy') throw new Error('beginRun with whenBusy record cannot be only busy')
  if (next.kind === 'skipped') {
    emitRunFinished(deps.events, request, next.runId, attempt, 'skipped', begunAt, begunAt, { message: next.reason })
    // The run ends here; its result stays the failure that asked for the retry (see RunResult).
    return undefined
  }
  progress.runId = next.runId
  progress.recorded = false
  return {}
}

/**
 * `begin` once the store answers: a store out of reach is tried again after a growing wait, until
 * shutdown cuts a wait short (undefined). Any other failure is the caller's.
 */
async function whenReachable<T>(
  deps: RetryStartDeps,
  wait: (ms: number) => Promise<boolean>,
  begin: () => Promise<T>,
): Promise<T | undefined> {
  for (let failures = 0; ; failures++) {
    try {
      const begun = await begin()
      if (failures > 0) deps.outage?.answered()
      return begun
    } catch (error) {
      if (!isUnreachable(error)) throw error
      deps.outage?.failed('could not start a retry', error)
      if (!(await wait(Math.min(UNREACHABLE_MAX_RETRY_MS, UNREACHABLE_RETRY_MS * 2 ** failures)))) return undefined
    }
  }
}
