/** Interval (`every: '5m'`) and one-off (`at: instant`) schedules, answering the same `next(after)`. */
import { CronsError, quote } from '../errors.js'
import { describeInstant, describeInterval } from './describe.js'
import type { Schedule } from './types.js'
import { zoneOffsets } from './zone.js'

/** Every multiple of `intervalMs` since the epoch: no drift, and every process computes the same slots. */
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
