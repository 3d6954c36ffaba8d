// The step from a failed attempt's backoff to its retry: begun with `retryOf` (clearing the pending
// retry in the same transaction), recorded interrupted after a shutdown, skipped by the overlap guard,
// or recorded cancelled by a cancel of the failed attempt.
// A store out of reach is waited out as the claim loop does. docs/engine.md: "Branches".
import { hasCode } from '../errors.js'
import type { AttemptRecord } from '../store/types.js'
import type { RunRequest } from './attempt.js'
import { emitRunFinished } from './events.js'
import type { Progress, RunnerDeps, RunResult } from './runner.js'

export type RetryStartDeps = Pick<
  RunnerDeps,
  'store' | 'recorder' | 'clock' | 'events' | 'instanceId' | 'outage' | 'renewLease'
>

/** Waiting for the store to answer again: the first wait, doubled after each failure, up to the most. */
const UNREACHABLE_RETRY_MS = 1000
const UNREACHABLE_MAX_RETRY_MS = 16_000

/**
 * Begin the retry of `progress`'s failed attempt (`{}`); `ended` when the retry is recorded but not run
 * (interrupted by a shutdown, skipped by the overlap guard); undefined when the run ends on that failure.
 */
export async function beginRetry(
  deps: RetryStartDeps,
  request: RunRequest,
  progress: Progress,
  waited: boolean,
  /** Waits `ms` like the backoff: false when shutdown cut it short. */
  wait: (ms: number) => Promise<boolean>,
): Promise<{ ended?: RunResult } | undefined> {
  const { job } = request
  const { store } = deps
  const attempt = progress.attempt + 1
  const now = deps.clock.now()
  const retry = { job: job.name, slot: request.slot, trigger: request.trigger, attempt, retryOf: progress.runId }
  if (!waited) {
    // Shutdown came during the backoff: the retry is recorded as interrupted, not silently dropped.
    let cancelled: Awaited<ReturnType<typeof store.beginRun>>
    try {
      cancelled = await store.beginRun({ ...retry, overlap: 'allow' }, deps.instanceId(), now)
    } catch (error) {
      if (!hasCode(error, 'STATE_UNREACHABLE')) throw error
      // The store out of reach as the scheduler stops: the pending retry stays there, for a peer to adopt.
      deps.outage?.failed('could not record the retry the stop cancelled', error)
      return undefined
    }
    taken(progress)
    if (cancelled.kind !== 'started') return undefined
    const { runId } = cancelled
    const message = 'retry cancelled: the scheduler shut down during the backoff'
    progress.runId = runId
    progress.recorded = false
    await deps.recorder.finish(runId, { status: 'interrupted', finishedAt: now, errorMessage: message, codeDone: true })
    progress.recorded = true
    emitRunFinished(deps.events, request, runId, attempt, 'interrupted', now, now, { message })
    return { ended: { runId, status: 'interrupted', attempts: attempt, error: { message } } }
  }
  // Guarded like a slot (SEMANTICS §6), the previous attempt of this run included: a timed-out
  // attempt keeps its row active until its code settles.
  const overlap = request.overlap ?? job.overlap
  let begunAt = now
  const next = await whenReachable(deps, wait, async () => {
    begunAt = deps.clock.now()
    // Self-fencing: a stale lease is renewed first, so a retry never begins under an id a peer reaped.
    await deps.renewLease?.(begunAt)
    return store.beginRun({ ...retry, overlap, whenBusy: 'record' }, deps.instanceId(), begunAt)
  })
  // Undefined: shutdown came while the store was out of reach; the pending retry stays to be adopted.
  if (next === undefined) return undefined
  taken(progress)
  if (next.kind === 'taken') return undefined
  if (next.kind === 'busy') throw new Error('beginRun with whenBusy record cannot be only busy')
  if (next.kind === 'skipped') {
    emitRunFinished(deps.events, request, next.runId, attempt, 'skipped', begunAt, begunAt, { message: next.reason })
    return { ended: { runId: next.runId, status: 'skipped', attempts: attempt, error: { message: next.reason } } }
  }
  progress.runId = next.runId
  progress.recorded = false
  return {}
}

/**
 * Cancel the retry of `progress`'s failed attempt during its backoff (`Scheduler.cancel` here): taken and
 * recorded `cancelled` in one store operation. `ended` with that attempt; undefined when it was taken first.
 */
export async function cancelRetry(
  deps: RetryStartDeps,
  request: RunRequest,
  progress: Progress,
  message: string,
): Promise<{ cancelled: AttemptRecord; ended: RunResult } | undefined> {
  const now = deps.clock.now()
  const cancelled = await deps.store.cancelRetry(progress.runId, message, now)
  taken(progress)
  if (cancelled === undefined) return undefined
  const { id: runId, attempt } = cancelled
  progress.runId = runId
  progress.recorded = true
  emitRunFinished(deps.events, request, runId, attempt, 'cancelled', now, now, { message })
  return { cancelled, ended: { runId, status: 'cancelled', attempts: attempt, error: { message } } }
}

/** The retry is no longer pending in the store (begun here or elsewhere): a late rewrite of the failed attempt keeps it so. */
function taken({ last }: Progress): void {
  if (last?.recorded) last.recorded = { ...last.recorded, retryAt: null }
}

/** `begin` once the store answers; undefined when shutdown cuts a wait short. Other failures are the caller's. */
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
      if (!hasCode(error, 'STATE_UNREACHABLE')) throw error
      deps.outage?.failed('could not start a retry', error)
      if (!(await wait(Math.min(UNREACHABLE_MAX_RETRY_MS, UNREACHABLE_RETRY_MS * 2 ** failures)))) return undefined
    }
  }
}
