/**
 * Proleptic Gregorian arithmetic on plain numbers, without `Date` (it allocates, and maps years 0-99 to
 * 1900-1999). A wall time is the epoch-ms number whose UTC fields equal the local date and clock reading.
 * Algorithms from Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms".
 */

export const SECOND = 1000
export const MINUTE = 60 * SECOND
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR

/** Day number (days since 1970-01-01) of a civil date; `month` is 1-12. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

export interface CivilDate {
  year: number
  month: number
  day: number
}

/** Civil date of a day number, written into `out` so the search loop allocates nothing. */
export function civilFromDays(days: number, out: CivilDate): CivilDate {
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  out.day = doy - Math.floor((153 * mp + 2) / 5) + 1
  out.month = mp < 10 ? mp + 3 : mp - 9
  out.year = yoe + era * 400 + (out.month <= 2 ? 1 : 0)
  return out
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

export function daysInMonth(year: number, month: number): number {
  if (month !== 2) return MONTH_DAYS[month - 1] ?? 31
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
}

/** The most days `month` can ever have (February counts its leap day). */
export function maxDaysInMonth(month: number): number {
  return month === 2 ? 29 : (MONTH_DAYS[month - 1] ?? 31)
}

/** Day of week of a day number: 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday). */
export function weekdayOfDays(days: number): number {
  return (((days + 4) % 7) + 7) % 7
}

/** "yyyy-MM-dd HH:mm:ss" of a wall time (years 0-9999; milliseconds are dropped). */
export function formatWall(wall: number): string {
  const days = Math.floor(wall / DAY)
  const { year, month, day } = civilFromDays(days, { year: 0, month: 0, day: 0 })
  const time = wall - days * DAY
  const hours = Math.floor(time / HOUR)
  const minutes = Math.floor((time % HOUR) / MINUTE)
  const seconds = Math.floor((time % MINUTE) / SECOND)
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)} ${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}`
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0')
}
