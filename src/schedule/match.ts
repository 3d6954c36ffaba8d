/**
 * The first matching wall time (calendar.ts) in [low, high), knowing nothing of offsets: whole months
 * and days skipped in one step, the time of day from "next allowed value" tables; no allocation.
 */
import { type CivilDate, civilFromDays, DAY, daysInMonth, SECOND, weekdayOfDays } from './calendar.js'
import type { CronFields } from './cron-fields.js'

/** Immutable tables, most shared between schedules (every minute, second 0…): built once; emptied past the limit. */
const TABLE_LIMIT = 4096
const tables = new Map<string, Int8Array | Uint8Array>()

function shared<T extends Int8Array | Uint8Array>(key: string, build: () => T): T {
  let table = tables.get(key) as T | undefined
  if (table === undefined) {
    table = build()
    if (tables.size >= TABLE_LIMIT) tables.clear()
    tables.set(key, table)
  }
  return table
}

/** `table[v]` = smallest allowed value ≥ v, or -1. One extra slot so `v + 1` never reads past the end. */
function nextTable(values: readonly number[], size: number): Int8Array {
  return shared(`n${size}:${values.join(',')}`, () => {
    const table = new Int8Array(size + 1).fill(-1)
    let next = -1
    for (let v = size - 1; v >= 0; v--) {
      if (values.includes(v)) next = v
      table[v] = next
    }
    return table
  })
}

function flags(values: readonly number[], size: number): Uint8Array {
  return shared(`f${size}:${values.join(',')}`, () => {
    const table = new Uint8Array(size)
    for (const v of values) table[v] = 1
    return table
  })
}

/** Scratch date for all matchers: a search runs to completion without calling out. */
const civil: CivilDate = { year: 0, month: 0, day: 0 }

/** Immutable, so schedules with the same fields share one (see `resolveFields`' `key`). */
export class WallMatcher {
  private readonly nextSecond: Int8Array
  private readonly nextMinute: Int8Array
  private readonly nextHour: Int8Array
  private readonly firstSecond: number
  private readonly firstMinute: number
  private readonly months: Uint8Array
  private readonly daysOfMonth: Uint8Array
  private readonly lastDayOfMonth: boolean
  private readonly daysOfWeek: Uint8Array
  private readonly lastWeekdays: Uint8Array
  /** Per weekday, bit k set for each `n#k`. */
  private readonly nthWeekdays: Uint8Array
  private readonly domRestricted: boolean
  private readonly dowRestricted: boolean

  constructor(fields: CronFields) {
    this.nextSecond = nextTable(fields.seconds, 60)
    this.nextMinute = nextTable(fields.minutes, 60)
    this.nextHour = nextTable(fields.hours, 24)
    this.firstSecond = fields.seconds[0] ?? 0
    this.firstMinute = fields.minutes[0] ?? 0
    this.months = flags(fields.months, 13)
    this.daysOfMonth = flags(fields.daysOfMonth, 32)
    this.lastDayOfMonth = fields.lastDayOfMonth
    this.daysOfWeek = flags(fields.daysOfWeek, 7)
    this.lastWeekdays = flags(fields.lastWeekdays, 7)
    this.nthWeekdays = new Uint8Array(7)
    for (const { weekday, nth } of fields.nthWeekdays) (this.nthWeekdays[weekday] as number) |= 1 << nth
    this.domRestricted = fields.dayOfMonthRestricted
    this.dowRestricted = fields.dayOfWeekRestricted
  }

  /** First matching wall time in [low, high), or null. Sub-second parts of `low` round up. */
  next(low: number, high: number): number | null {
    let day = Math.floor(low / DAY)
    let secondOfDay = Math.ceil((low - day * DAY) / SECOND)
    while (day * DAY < high) {
      civilFromDays(day, civil)
      if (this.months[civil.month] !== 1) {
        day += daysInMonth(civil.year, civil.month) - civil.day + 1
        secondOfDay = 0
        continue
      }
      if (secondOfDay < 86400 && this.dayMatches(day, civil)) {
        const time = this.timeOfDay(secondOfDay)
        if (time >= 0) {
          const wall = day * DAY + time * SECOND
          return wall < high ? wall : null
        }
      }
      day++
      secondOfDay = 0
    }
    return null
  }

  /** The matching day's first allowed second ≥ `secondOfDay`, or -1. */
  private timeOfDay(secondOfDay: number): number {
    const h = Math.floor(secondOfDay / 3600)
    const m = Math.floor((secondOfDay % 3600) / 60)
    const s = secondOfDay % 60
    let hour = this.nextHour[h] as number
    if (hour < 0) return -1
    if (hour === h) {
      if (this.nextMinute[m] === m) {
        const second = this.nextSecond[s] as number
        if (second >= 0) return h * 3600 + m * 60 + second
      }
      const minute = this.nextMinute[m + 1] as number
      if (minute >= 0) return h * 3600 + minute * 60 + this.firstSecond
      hour = this.nextHour[h + 1] as number
      if (hour < 0) return -1
    }
    return hour * 3600 + this.firstMinute * 60 + this.firstSecond
  }

  /** Day-of-month and day-of-week, with the Vixie OR rule when both are restricted. */
  private dayMatches(day: number, civil: CivilDate): boolean {
    if (!this.domRestricted && !this.dowRestricted) return true
    const lastDay = daysInMonth(civil.year, civil.month)
    if (this.domRestricted && (this.daysOfMonth[civil.day] === 1 || (this.lastDayOfMonth && civil.day === lastDay))) {
      return true
    }
    if (!this.dowRestricted) return false
    const weekday = weekdayOfDays(day)
    return (
      this.daysOfWeek[weekday] === 1 ||
      (this.lastWeekdays[weekday] === 1 && civil.day + 7 > lastDay) ||
      ((this.nthWeekdays[weekday] as number) & (1 << Math.ceil(civil.day / 7))) !== 0
    )
  }
}
