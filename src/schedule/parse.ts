/**
 * Cron expression → fields: split the text, resolve an alias, check each field and expand it.
 *
 * Registering many schedules has to stay cheap, so each distinct field text is checked
 * (field-grammar.ts) and expanded (expand.ts) once and the results are cached and shared; an
 * expression cron-parser refuses as a whole takes the uncached path.
 */
import { quote } from '../errors.js'
import { expandAlias } from './aliases.js'
import { type CronFields, type NthWeekday, neverFires } from './cron-fields.js'
import { dateValues, expand, expandedDates, expandTimeField } from './expand.js'
import { checkField, DAY_OF_MONTH, type FieldSpec, invalid, SPECS } from './field-grammar.js'

/** Parse and validate `expression`; throws `SCHEDULE_INVALID` with a one-line message. */
export function parseFields(expression: string): CronFields {
  const f = resolveFields(expression).fields
  // The resolved value lists are shared between schedules; callers get their own copies. One literal
  // with a fixed key order (the order parseFields has always returned), so all share one hidden class.
  return {
    seconds: f.seconds.slice(),
    minutes: f.minutes.slice(),
    hours: f.hours.slice(),
    daysOfMonth: f.daysOfMonth.slice(),
    lastDayOfMonth: f.lastDayOfMonth,
    months: f.months.slice(),
    daysOfWeek: f.daysOfWeek.slice(),
    lastWeekdays: f.lastWeekdays.slice(),
    nthWeekdays: f.nthWeekdays.map((item) => ({ weekday: item.weekday, nth: item.nth })),
    hasSeconds: f.hasSeconds,
    dayOfMonthRestricted: f.dayOfMonthRestricted,
    dayOfWeekRestricted: f.dayOfWeekRestricted,
  }
}

/**
 * A parsed expression whose value lists may be shared with other expressions: read them, never
 * modify them (they are frozen). Two expressions with the same `key` match the same wall times (all
 * their fields but `hasSeconds` are equal); `key` is null when the fields did not come from the caches.
 */
export interface ResolvedFields {
  readonly fields: CronFields
  readonly key: string | null
}

/**
 * The caches below make registering many schedules cheap: each distinct field text is validated
 * and expanded by cron-parser once, however many expressions repeat it, and the expanded lists are
 * shared. Each cache is simply emptied when it grows past CACHE_LIMIT (values already handed out stay
 * valid; ids are never reused, so keys built from old entries never match new ones).
 */
const CACHE_LIMIT = 4096
let nextId = 0

/** One validated field text: upper-cased for cron-parser and, for the time fields, expanded. */
interface FieldEntry {
  readonly id: number
  readonly upper: string
  /**
   * Seconds, minutes, hours: the sorted values (frozen), or null when cron-parser refuses the text as
   * a whole; always null for the date fields, which `dateEntry` expands together.
   */
  readonly values: number[] | null
}

/** Day-of-month, month and day-of-week, which cron-parser expands together. */
interface DateEntry {
  readonly id: number
  readonly daysOfMonth: number[]
  readonly lastDayOfMonth: boolean
  readonly months: number[]
  readonly daysOfWeek: number[]
  readonly lastWeekdays: number[]
  readonly nthWeekdays: readonly NthWeekday[]
  readonly dayOfMonthRestricted: boolean
  readonly dayOfWeekRestricted: boolean
  readonly neverFires: boolean
}

/** Validated field texts, one map per field (seconds first), keyed by the text as written. */
const fieldCache: Map<string, FieldEntry>[] = SPECS.map(() => new Map())
/** Date parts keyed by their three upper-cased texts; null where cron-parser refuses the three together. */
const dateCache = new Map<string, DateEntry | null>()

/** The longest expression cron-parser accepts (its MAX_EXPRESSION_LENGTH). */
const PARSER_MAX_LENGTH = 1024

/** Like `parseFields`, but the value lists are shared (see `ResolvedFields`). */
export function resolveFields(expression: string): ResolvedFields {
  const trimmed = expression.trim()
  if (trimmed === '') {
    throw invalid('schedule is empty (expected 5 or 6 fields, or an alias such as @daily)')
  }
  const parts = expandAlias(trimmed.split(/\s+/), expression)
  if (parts.length !== 5 && parts.length !== 6) {
    throw invalid(`expected 5 or 6 fields, got ${parts.length} in ${quote(expression)}`)
  }
  const hasSeconds = parts.length === 6
  const offset = hasSeconds ? 0 : 1
  const second = hasSeconds ? fieldEntry(parts[0] as string, 0, expression) : fieldEntry('0', 0, expression)
  const minute = fieldEntry(parts[1 - offset] as string, 1, expression)
  const hour = fieldEntry(parts[2 - offset] as string, 2, expression)
  const dayOfMonth = fieldEntry(parts[3 - offset] as string, 3, expression)
  const month = fieldEntry(parts[4 - offset] as string, 4, expression)
  const dayOfWeek = fieldEntry(parts[5 - offset] as string, 5, expression)
  const length =
    second.upper.length +
    minute.upper.length +
    hour.upper.length +
    dayOfMonth.upper.length +
    month.upper.length +
    dayOfWeek.upper.length +
    5
  const date = dateEntry(dayOfMonth.upper, month.upper, dayOfWeek.upper)
  const seconds = second.values
  const minutes = minute.values
  const hours = hour.values
  if (seconds !== null && minutes !== null && hours !== null && date !== null && length <= PARSER_MAX_LENGTH) {
    // cron-parser accepts each time field on its own and the date part together, and nothing else
    // in it spans fields (only day-of-month, month and day-of-week interact), so it accepts the whole
    // expression and expands it to exactly these values.
    if (date.neverFires) throw invalid(`${quote(expression)} never fires (no day matches)`)
    return {
      fields: {
        seconds,
        minutes,
        hours,
        daysOfMonth: date.daysOfMonth,
        lastDayOfMonth: date.lastDayOfMonth,
        months: date.months,
        daysOfWeek: date.daysOfWeek,
        lastWeekdays: date.lastWeekdays,
        nthWeekdays: date.nthWeekdays as NthWeekday[],
        hasSeconds,
        dayOfMonthRestricted: date.dayOfMonthRestricted,
        dayOfWeekRestricted: date.dayOfWeekRestricted,
      },
      key: `${second.id} ${minute.id} ${hour.id} ${date.id}`,
    }
  }
  // cron-parser refuses the expression as a whole (overlapping list items, a day that no listed
  // month has, …): the uncached path, item by item.
  const normalized = [second.upper, minute.upper, hour.upper, dayOfMonth.upper, month.upper, dayOfWeek.upper]
  const e = expand(normalized, expression)
  const fields: CronFields = {
    seconds: e.seconds,
    minutes: e.minutes,
    hours: e.hours,
    daysOfMonth: e.daysOfMonth,
    lastDayOfMonth: e.lastDayOfMonth,
    months: e.months,
    daysOfWeek: e.daysOfWeek,
    lastWeekdays: e.lastWeekdays,
    nthWeekdays: e.nthWeekdays,
    hasSeconds,
    dayOfMonthRestricted: dayOfMonth.upper !== '*',
    dayOfWeekRestricted: dayOfWeek.upper !== '*',
  }
  if (neverFires(fields)) throw invalid(`${quote(expression)} never fires (no day matches)`)
  return { fields, key: null }
}

/** The validated (and for time fields, expanded) entry of one field text; validates on first sight. */
function fieldEntry(text: string, index: number, expression: string): FieldEntry {
  const cache = fieldCache[index] as Map<string, FieldEntry>
  let entry = cache.get(text)
  if (entry === undefined) {
    const upper = checkField(text, SPECS[index] as FieldSpec, index, expression)
    entry = { id: nextId++, upper, values: index < DAY_OF_MONTH ? expandTimeField(upper, index) : null }
    if (cache.size >= CACHE_LIMIT) cache.clear()
    cache.set(text, entry)
  }
  return entry
}

/**
 * The day-of-month, month and day-of-week values cron-parser gives for these three texts (they
 * interact: a single month trims the days it does not have, and a day no listed month has is
 * refused), or null if it refuses them together.
 */
function dateEntry(dayOfMonth: string, month: string, dayOfWeek: string): DateEntry | null {
  const key = `${dayOfMonth} ${month} ${dayOfWeek}`
  let entry = dateCache.get(key)
  if (entry === undefined) {
    try {
      const e = expandedDates(...dateValues(key))
      const fields = {
        daysOfMonth: e.daysOfMonth,
        lastDayOfMonth: e.lastDayOfMonth,
        months: e.months,
        dayOfMonthRestricted: dayOfMonth !== '*',
        dayOfWeekRestricted: dayOfWeek !== '*',
      }
      entry = Object.freeze({
        id: nextId++,
        daysOfMonth: Object.freeze(e.daysOfMonth) as number[],
        lastDayOfMonth: e.lastDayOfMonth,
        months: Object.freeze(e.months) as number[],
        daysOfWeek: Object.freeze(e.daysOfWeek) as number[],
        lastWeekdays: Object.freeze(e.lastWeekdays) as number[],
        nthWeekdays: Object.freeze(e.nthWeekdays.map((item) => Object.freeze(item))),
        dayOfMonthRestricted: fields.dayOfMonthRestricted,
        dayOfWeekRestricted: fields.dayOfWeekRestricted,
        neverFires: neverFires(fields),
      })
    } catch {
      entry = null
    }
    if (dateCache.size >= CACHE_LIMIT) dateCache.clear()
    dateCache.set(key, entry)
  }
  return entry
}
