/** Pure time maths: parse once, then ask `next(after)`. No I/O, no clock: callers (and tests) control time. */
import type { Schedule } from './types.js'

export { parseCron } from './cron.js'
export { parseFields } from './parse.js'
export { atSchedule, everySchedule } from './simple.js'
export { isValidZone, knownZones, localZone, unknownZone, unknownZoneMessage } from './zone.js'

/** The next `count` fires strictly after `from`, fewer if the schedule ends. */
export function nextFires(schedule: Schedule, from: number, count: number): number[] {
  const fires: number[] = []
  let after = from
  while (fires.length < count) {
    const fire = schedule.next(after)
    if (fire === null) break
    fires.push(fire)
    after = fire
  }
  return fires
}
