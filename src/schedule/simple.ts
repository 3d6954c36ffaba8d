/**
 * Interval (`every: '5m'`) and one-off (`at: instant`) schedules. They are separate options rather
 * than cron syntax (SEMANTICS §1), but answer the same `next(after)` question so the scheduler
 * treats every job alike.
 */
import { CronsError, quote } from '../errors.js'
import { describeInstant, describeInterval } from './describe.js'
import type { Schedule } from './types.js'
import { zoneOffsets } from './zone.js'

/**
 * Fires at every multiple of `intervalMs` since the Unix epoch. Slots come from the wall clock, not
 * from "last run + interval", so they never drift and every process computes the same slots (which
 * is what lets the store deduplicate them). The zone only matters for display.
 */
export function everySchedule(intervalMs: number, zone: string, text: string): Schedule {
  if (!Number.isSafeInteger(intervalMs) || intervalMs <= 0) {
    throw new CronsError(
      'DURATION_INVALID',
      `interval ${quote(text)} is not valid (expected a positive whole number of milliseconds, got ${quote(intervalMs)})`,
    )
  }
  zoneOffsets(zone)
  return {
    kind: 'every',
    text,
    zone,
    next(after: number): number | null {
      if (Number.isNaN(after)) throw new RangeError('next(after): after must be an epoch-ms number, got NaN')
      return (Math.floor(after / intervalMs) + 1) * intervalMs
    },
    describe: () => describeInterval(intervalMs),
  }
}

/** Fires once, at `instantMs`. */
export function atSchedule(instantMs: number, zone: string): Schedule {
  if (!Number.isFinite(instantMs)) {
    throw new CronsError('SCHEDULE_INVALID', `one-off time ${quote(instantMs)} is not a valid instant`)
  }
  zoneOffsets(zone)
  return {
    kind: 'at',
    text: `at ${new Date(instantMs).toISOString()}`,
    zone,
    next: (after: number): number | null => (instantMs > after ? instantMs : null),
    describe: () => describeInstant(instantMs, zone),
  }
}
