// Which claims one job's due slots make at one wake-up (pure). docs/engine.md: "One slot", step 2.
import type { ResolvedJob } from '../config/types.js'
import type { MissedInfo, SlotClaim } from '../store/types.js'
import { slotJitterMs } from './retry.js'

/** Past this many missed slots in one outage, counting stops (the count is a lower bound). */
const MAX_MISSED_COUNT = 100_000

/** The job's jitter for a slot is the same in every process. */
export function dueAt(job: ResolvedJob, slot: number): number {
  return slot + slotJitterMs(job.name, slot, job.jitterMs)
}

/** Two definitions fire on the same slots (a reload keeps such a job's queued slot). */
export function sameSchedule(a: ResolvedJob, b: ResolvedJob): boolean {
  return a.kind === b.kind && a.scheduleText === b.scheduleText && a.zone === b.zone
}

/** Where a job never served starts: after now, except a one-off, whose instant may be just past (never dropped). */
export function firstSlotOf(job: ResolvedJob): number | null {
  return job.schedule.kind === 'at' ? Number.NEGATIVE_INFINITY : null
}

/**
 * Appends the claims for one job's due slots to `claims` (and the job to `claimed`, one per claim);
 * returns its next slot not claimed. Only the latest due slot runs, within the grace; the others are
 * one missed record, or with catchUp one run carrying them. Slots up to `horizon` are claimed ahead,
 * one a batch for overlap 'skip' (a second would be skipped against a run that may end in time).
 * `firstAt` is when `first` is due: its jittered instant, or later if a reload moved it (see `ClaimLoop.requeue`).
 */
export function collectDue(
  job: ResolvedJob,
  first: number,
  now: number,
  horizon: number,
  claims: SlotClaim[],
  claimed: ResolvedJob[],
  firstAt = dueAt(job, first),
): number | null {
  let slot: number | null = first
  let missed: MissedInfo | undefined
  /** The latest slot already due that is within the grace. */
  let late: number | undefined
  // Slots due after now: the first in locals, the rest in arrays made only then (the usual case allocates nothing).
  let ahead: number | undefined
  let aheadAt = 0
  let further: { slots: number[]; at: number[] } | undefined
  while (slot !== null) {
    const at = slot === first ? firstAt : dueAt(job, slot)
    if (at > horizon) break
    if (at > now) {
      if (ahead === undefined) {
        ahead = slot
        aheadAt = at
      } else if (further === undefined) further = { slots: [slot], at: [at] }
      else {
        further.slots.push(slot)
        further.at.push(at)
      }
    } else if (now - at > job.misfireGraceMs) {
      missed = widen(missed, slot)
      if (missed.count >= MAX_MISSED_COUNT) {
        // Too many to count one by one: skip to the slots around now.
        slot = job.schedule.next(Math.max(slot, now - job.misfireGraceMs - 1))
        continue
      }
    } else {
      if (late !== undefined) missed = widen(missed, late)
      late = slot
    }
    slot = job.schedule.next(slot)
  }
  let runsNow = late !== undefined
  if (missed === undefined) {
    if (late !== undefined) addClaim(claims, claimed, job, late, now)
  } else if (job.catchUp) {
    addClaim(claims, claimed, job, late ?? missed.last, now, { trigger: 'catch-up', missed, record: 'run' })
    runsNow = true
  } else {
    addClaim(claims, claimed, job, missed.last, now, { missed, record: 'missed' })
    if (late !== undefined) addClaim(claims, claimed, job, late, now)
  }
  if (job.overlap === 'allow') {
    if (ahead !== undefined) addClaim(claims, claimed, job, ahead, aheadAt)
    if (further !== undefined) {
      for (let i = 0; i < further.slots.length; i++)
        addClaim(claims, claimed, job, further.slots[i] as number, further.at[i] as number)
    }
    return slot
  }
  if (!runsNow && ahead !== undefined) addClaim(claims, claimed, job, ahead, aheadAt)
  return (runsNow ? ahead : further?.slots[0]) ?? slot
}

export function missedSlot(slot: number): MissedInfo {
  return { count: 1, first: slot, last: slot }
}

function widen(missed: MissedInfo | undefined, slot: number): MissedInfo {
  if (missed === undefined) return missedSlot(slot)
  return { count: missed.count + 1, first: Math.min(missed.first, slot), last: Math.max(missed.last, slot) }
}

function addClaim(
  claims: SlotClaim[],
  claimed: ResolvedJob[],
  job: ResolvedJob,
  slot: number,
  startAt: number,
  extra?: Partial<Pick<SlotClaim, 'trigger' | 'missed' | 'record'>>,
): void {
  const claim: SlotClaim = { job: job.name, slot, trigger: 'schedule', overlap: job.overlap, startAt }
  claims.push(extra === undefined ? claim : Object.assign(claim, extra))
  claimed.push(job)
}
