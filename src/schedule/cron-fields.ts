/** The parsed form of a cron expression, and whether it can ever fire. */
import { maxDaysInMonth } from './calendar.js'

/** `n#k` in day-of-week: the k-th weekday n (0 = Sunday) of the month. */
export interface NthWeekday {
  weekday: number
  nth: number
}

/** All value lists are sorted and deduplicated. */
export interface CronFields {
  hasSeconds: boolean
  seconds: number[]
  minutes: number[]
  hours: number[]
  /** 1-31, without `L`. */
  daysOfMonth: number[]
  /** `L` in day-of-month: the month's last day. */
  lastDayOfMonth: boolean
  months: number[]
  /** Plain weekdays, 0 = Sunday … 6 = Saturday (7 folded into 0). */
  daysOfWeek: number[]
  /** Weekdays written `nL`: the last such weekday of the month. */
  lastWeekdays: number[]
  /** `n#k` items: the k-th (1-5) weekday n of the month, sorted by weekday then k. */
  nthWeekdays: NthWeekday[]
  /** Day-of-month text was not exactly `*` (the Vixie OR rule keys on this, not on the values). */
  dayOfMonthRestricted: boolean
  dayOfWeekRestricted: boolean
}

/** Only a day-of-month restriction on its own can rule out every day (`0 0 31 2 *`): weekdays always match some day. */
export function neverFires(fields: CronFields): boolean {
  if (!fields.dayOfMonthRestricted || fields.dayOfWeekRestricted || fields.lastDayOfMonth) return false
  return !fields.months.some((month) => fields.daysOfMonth.some((day) => day <= maxDaysInMonth(month)))
}
