/**
 * Which claims one job's due slots make, at one wake-up of the scheduler: pure, given the job, its
 * first unserved slot and the clock reading.
 */
import type { ResolvedJob } from '../config/types.js'
import type { MissedInfo, SlotClaim } from '../store/types.js'
import { slotJitterMs } from './retry.js'

/** Past this many missed slots of one job in one outage, counting stops (the count is a lower bound). */
const MAX_MISSED_COUNT = 100_000

/** When a slot of `job` is due: the slot plus the job's jitter for it (the same in every process). */
export function dueAt(job: ResolvedJob, slot: number): number {
  return slot + slotJitterMs(job.name, slot, job.jitterMs)
}

/**
 * The claims for one job's due slots, appended to `claims` (and the job to `claimed`, one per claim).
 * Of the slots already due, only the latest runs, and only within the misfire grace: a scheduler
 * behind by several slots (an outage, a suspend, a blocked event loop) runs a job once, never its
 * slots back to back. The others are missed: one record, or with catchUp ONE run for the latest slot
 * that carries them all. Slots due after now (up to `horizon`) are claimed ahead. Returns the job's
 * next slot after those.
 */
export function collectDue(
  job: ResolvedJob,
  first: number,
  now: number,
  horizon: number,
  claims: SlotClaim[],
  claimed: ResolvedJob[],
): number | null {
  let slot: number | null = first
  let missed: MissedInfo | undefined
  /** The latest slot already due that is within the grace. */
  let late: number | undefined
  const ahead: number[] = []
  while (slot !== null) {
    const at = dueAt(job, slot)
    if (at > horizon) break
    if (at > now) ahead.push(slot)
    else if (now - at > job.misfireGraceMs) {
      missed = widen(missed, slot)
      if (missed.count >= MAX_MISSED_COUNT) {
        // Far too many to count one by one: skip to the slots around now.
        slot = job.schedule.next(Math.max(slot, now - job.misfireGraceMs - 1))
        continue
      }
    } else {
      if (late !== undefined) missed = widen(missed, late)
      late = slot
    }
    slot = job.schedule.next(slot)
  }
  if (missed === undefined) {
    if (late !== undefined) addClaim(claims, claimed, job, late)
  } else if (job.catchUp) {
    const all = late === undefined ? missed : widen(missed, late)
    addClaim(claims, claimed, job, late ?? missed.last, { trigger: 'catch-up', missed: all, record: 'run' })
  } else {
    addClaim(claims, claimed, job, missed.last, { missed, record: 'missed' })
    if (late !== undefined) addClaim(claims, claimed, job, late)
  }
  for (const s of ahead) addClaim(claims, claimed, job, s)
  return slot
}

/** `missed` with one more slot. */
function widen(missed: MissedInfo | undefined, slot: number): MissedInfo {
  if (missed === undefined) return { count: 1, first: slot, last: slot }
  return { count: missed.count + 1, first: Math.min(missed.first, slot), last: Math.max(missed.last, slot) }
}

function addClaim(
  claims: SlotClaim[],
  claimed: ResolvedJob[],
  job: ResolvedJob,
  slot: number,
  extra?: Partial<Pick<SlotClaim, 'trigger' | 'missed' | 'record'>>,
): void {
  const claim: SlotClaim = { job: job.name, slot, trigger: 'schedule', overlap: job.overlap }
  claims.push(extra === undefined ? claim : Object.assign(claim, extra))
  claimed.push(job)
}
