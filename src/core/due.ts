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
 * The claims for one job's due slots, appended to `claims` (and the job to `claimed`, one per claim):
 * slots later than the misfire grace are missed (one record, or with catchUp one run for the latest
 * of them when no in-grace slot runs anyway); the others run. Slots due after now (up to `horizon`)
 * are claimed ahead. Returns the job's next slot after those.
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
  const due: number[] = []
  while (slot !== null && dueAt(job, slot) <= horizon) {
    if (now - dueAt(job, slot) > job.misfireGraceMs) {
      missed = missed ? { ...missed, count: missed.count + 1, last: slot } : { count: 1, first: slot, last: slot }
      if (missed.count >= MAX_MISSED_COUNT) {
        // Far too many to count one by one: skip to the slots around now.
        slot = job.schedule.next(Math.max(slot, now - job.misfireGraceMs - 1))
        continue
      }
    } else due.push(slot)
    slot = job.schedule.next(slot)
  }
  if (missed) {
    const catchUp = job.catchUp && due.length === 0
    claims.push({
      job: job.name,
      slot: missed.last,
      trigger: catchUp ? 'catch-up' : 'schedule',
      overlap: job.overlap,
      missed,
      record: catchUp ? 'run' : 'missed',
    })
    claimed.push(job)
  }
  for (const s of due) {
    claims.push({ job: job.name, slot: s, trigger: 'schedule', overlap: job.overlap })
    claimed.push(job)
  }
  return slot
}
