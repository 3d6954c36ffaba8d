/**
 * Cron expression → value sets, with the error messages users need.
 *
 * cron-parser expands the fields (ranges, steps, names, `L`, `nL`, `n#k`), but its messages
 * ("Constraint error, got value 60 expected range 0-59") name neither the field nor the expression.
 * So every field is first checked here against the grammar of SEMANTICS §1, which is also where the
 * one-line "field, value, allowed range, whole expression" messages come from; cron-parser then only
 * sees text that is already known to be valid.
 */
import { CronsError, closest, quote } from '../errors.js'
import { maxDaysInMonth } from './calendar.js'
import { dateValues, parser, type RawValues, timeValues } from './parser-results.js'

/** The parsed, validated fields of a cron expression. All value lists are sorted and deduplicated. */
export interface CronFields {
  /** True when the expression had 6 fields (a leading seconds field). */
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
  /** `n#k`: the k-th (1-5) weekday n of the month. */
  nthWeekday: { weekday: number; nth: number } | null
  /** Day-of-month text was not exactly `*` (the Vixie OR rule keys on this, not on the values). */
  dayOfMonthRestricted: boolean
  dayOfWeekRestricted: boolean
}

export const ALIASES: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']

interface FieldSpec {
  name: string
  min: number
  max: number
  /** Names allowed in place of numbers; index 0 stands for `min`. */
  names?: string[]
  /** What a single value may look like, for "expected …". */
  expected: string
}

const SPECS: FieldSpec[] = [
  { name: 'second', min: 0, max: 59, expected: '0-59' },
  { name: 'minute', min: 0, max: 59, expected: '0-59' },
  { name: 'hour', min: 0, max: 23, expected: '0-23' },
  { name: 'day-of-month', min: 1, max: 31, expected: '1-31 or L' },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES, expected: '1-12 or JAN-DEC' },
  { name: 'day-of-week', min: 0, max: 7, names: DAY_NAMES, expected: '0-7 or SUN-SAT' },
]
const DAY_OF_MONTH = 3
const DAY_OF_WEEK = 5

function invalid(message: string, suggestion?: string): CronsError {
  return new CronsError('SCHEDULE_INVALID', message, suggestion === undefined ? {} : { suggestions: [suggestion] })
}

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
    nthWeekday: f.nthWeekday === null ? null : { weekday: f.nthWeekday.weekday, nth: f.nthWeekday.nth },
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
  readonly nthWeekday: { weekday: number; nth: number } | null
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
  let parts = trimmed.split(/\s+/)
  const first = parts[0] as string
  if (first.startsWith('@')) {
    const alias = ALIASES[first.toLowerCase()]
    if (alias === undefined) {
      const names = Object.keys(ALIASES)
      throw invalid(
        `unknown alias ${quote(first)} in ${quote(expression)} (expected ${names.slice(0, -1).join(', ')} or ${names.at(-1)})`,
        closest(first, names),
      )
    }
    if (parts.length > 1) throw invalid(`alias ${quote(first)} must stand alone in ${quote(expression)}`)
    parts = alias.split(' ')
  }
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
        nthWeekday: date.nthWeekday,
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
    nthWeekday: e.nthWeekday,
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
 * A seconds, minutes or hours text expanded by cron-parser on its own, or null if it refuses it. The
 * other fields are single values, which cron-parser expands faster than `*` and which cannot make it
 * refuse the expression.
 */
function expandTimeField(upper: string, index: number): number[] | null {
  const template = ['0', '0', '0', '1', '1', '0']
  template[index] = upper
  try {
    return Object.freeze(numbers(timeValues(index, upper, template.join(' ')))) as number[]
  } catch {
    return null
  }
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
        nthWeekday: e.nthWeekday === null ? null : Object.freeze(e.nthWeekday),
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

/**
 * Validate one field and return it upper-cased for cron-parser. Throws the first problem found,
 * naming the field, the offending part and what was expected. The message parts are only built
 * when throwing.
 */
function checkField(text: string, spec: FieldSpec, index: number, expression: string): string {
  const where = (): string => `in ${quote(expression)}`
  const forms = (): string =>
    `${spec.expected}, a range a-b, a step */n or a-b/n, or a list${index === DAY_OF_WEEK ? ', nL or n#k' : ''}`
  const items = text.split(',')
  for (const item of items) {
    if (item === '') throw invalid(`${spec.name} ${quote(text)} is not valid ${where()} (expected ${forms()})`)
    const upper = item.toUpperCase()
    if (index === DAY_OF_MONTH && upper === 'L') continue
    const hash = upper.indexOf('#')
    if (index === DAY_OF_WEEK && hash > 0) {
      const day = upper.slice(0, hash)
      const nth = upper.slice(hash + 1)
      checkValue(day, spec, expression)
      if (!/^[1-5]$/.test(nth)) {
        throw invalid(`${spec.name} ${quote(item)} is not valid ${where()} (the occurrence after # must be 1-5)`)
      }
      if (items.length > 1) {
        throw invalid(`${spec.name} ${quote(text)} is not valid ${where()} (n#k cannot be combined with other days)`)
      }
      continue
    }
    if (index === DAY_OF_WEEK && upper.length > 1 && upper.endsWith('L') && !upper.includes('/')) {
      checkValue(upper.slice(0, -1), spec, expression)
      continue
    }
    const slash = item.split('/')
    if (slash.length > 2) throw invalid(`${spec.name} ${quote(item)} is not valid ${where()} (expected ${forms()})`)
    const [range = '', step] = slash
    if (step !== undefined) {
      const size = Number(step)
      if (!/^\d+$/.test(step) || size < 1 || size > spec.max) {
        throw invalid(
          `${spec.name} step ${quote(item)} is not valid ${where()} (expected a whole number from 1 to ${spec.max} after /)`,
        )
      }
    }
    if (range === '*') continue
    const bounds = range.split('-')
    if (bounds.length > 2 || bounds.some((bound) => bound === '')) {
      throw invalid(`${spec.name} ${quote(item)} is not valid ${where()} (expected ${forms()})`)
    }
    const low = checkValue(bounds[0] as string, spec, expression)
    if (bounds.length === 2) {
      const high = checkValue(bounds[1] as string, spec, expression)
      if (low > high) {
        throw invalid(
          `${spec.name} range ${quote(range)} is not valid ${where()} (${low} is greater than ${high}; ranges do not wrap around, use a list such as ${low}-${spec.max},${spec.min}-${high})`,
        )
      }
    }
  }
  return text.toUpperCase()
}

/** A single number or name; returns its numeric value. */
function checkValue(token: string, spec: FieldSpec, expression: string): number {
  if (/^\d+$/.test(token)) {
    const value = Number(token)
    if (value < spec.min || value > spec.max) {
      throw invalid(`${spec.name} ${value} is out of range ${spec.min}-${spec.max} in ${quote(expression)}`)
    }
    return value
  }
  const nameIndex = spec.names?.indexOf(token.toUpperCase()) ?? -1
  if (nameIndex >= 0) return nameIndex + spec.min
  const suggestion = spec.names !== undefined && /^[a-z]+$/i.test(token) ? closest(token, spec.names) : undefined
  throw invalid(
    `${spec.name} ${quote(token)} is not valid in ${quote(expression)} (expected ${spec.expected})`,
    suggestion,
  )
}

type Expanded = Omit<CronFields, 'hasSeconds' | 'dayOfMonthRestricted' | 'dayOfWeekRestricted'>
type ExpandedDates = Pick<
  CronFields,
  'daysOfMonth' | 'lastDayOfMonth' | 'months' | 'daysOfWeek' | 'lastWeekdays' | 'nthWeekday'
>

const FIELD_KEYS = ['second', 'minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek'] as const

/** The numbers among `values`, sorted and deduplicated. */
function numbers(values: RawValues): number[] {
  return [...new Set(values.filter((v): v is number => typeof v === 'number'))].sort((a, b) => a - b)
}

/** The date part of the fields from cron-parser's day-of-month, month and day-of-week values. */
function expandedDates(dayOfMonth: RawValues, month: RawValues, dayOfWeek: RawValues, nth: number): ExpandedDates {
  const plainDays = numbers(dayOfWeek.map((v) => (typeof v === 'number' ? v % 7 : v)))
  const lastWeekdays = dayOfWeek
    .filter((v): v is string => typeof v === 'string' && v.endsWith('L'))
    .map((v) => Number(v.slice(0, -1)) % 7)
  return {
    daysOfMonth: numbers(dayOfMonth),
    lastDayOfMonth: dayOfMonth.includes('L'),
    months: numbers(month),
    daysOfWeek: nth > 0 ? [] : plainDays,
    lastWeekdays: numbers(lastWeekdays),
    nthWeekday: nth > 0 && plainDays[0] !== undefined ? { weekday: plainDays[0], nth } : null,
  }
}

/**
 * Expand validated 6-field text into value sets with cron-parser, for an expression it refuses as a
 * whole: cron-parser refuses lists whose items overlap (`0,7`, `1-5,3`) and day/month pairs that
 * never occur (`31 2`); classic cron accepts the first and SEMANTICS §1 wants "never fires" for the
 * second, so each list item is expanded on its own and the results merged. (Expressions it accepts
 * are expanded field by field and cached, in `resolveFields`.)
 */
function expand(fields: string[], expression: string): Expanded {
  const raw: RawValues[] = []
  let nth = 0
  try {
    const parsed = parser().parse(fields.join(' ')).fields
    for (const key of FIELD_KEYS) raw.push(parsed[key].values)
    nth = parsed.dayOfWeek.nthDay
  } catch (error) {
    try {
      fields.forEach((field, index) => {
        const values = new Set<number | string>()
        for (const item of field.split(',')) {
          const template = ['*', '*', '*', '*', '*', '*']
          template[index] = item
          const parsed = parser().parse(template.join(' ')).fields
          for (const value of parsed[FIELD_KEYS[index] as (typeof FIELD_KEYS)[number]].values) values.add(value)
          if (index === DAY_OF_WEEK) nth = parsed.dayOfWeek.nthDay
        }
        raw.push([...values])
      })
    } catch {
      // Only reachable for a form the checks above let through but cron-parser rejects.
      const reason = error instanceof Error ? error.message : String(error)
      throw new CronsError('SCHEDULE_INVALID', `schedule ${quote(expression)} is not valid (${reason})`, {
        cause: error,
      })
    }
  }
  const [second = [], minute = [], hour = [], dayOfMonth = [], month = [], dayOfWeek = []] = raw
  const dates = expandedDates(dayOfMonth, month, dayOfWeek, nth)
  return {
    seconds: numbers(second),
    minutes: numbers(minute),
    hours: numbers(hour),
    daysOfMonth: dates.daysOfMonth,
    lastDayOfMonth: dates.lastDayOfMonth,
    months: dates.months,
    daysOfWeek: dates.daysOfWeek,
    lastWeekdays: dates.lastWeekdays,
    nthWeekday: dates.nthWeekday,
  }
}

/**
 * Only a day-of-month restriction on its own can rule out every day (`0 0 31 2 *`); any
 * day-of-week term matches some day of every month sooner or later (a fifth Friday in February
 * included, in leap years), and under the OR rule that is enough.
 */
function neverFires(
  fields: Pick<
    CronFields,
    'dayOfMonthRestricted' | 'dayOfWeekRestricted' | 'lastDayOfMonth' | 'months' | 'daysOfMonth'
  >,
): boolean {
  if (!fields.dayOfMonthRestricted || fields.dayOfWeekRestricted || fields.lastDayOfMonth) return false
  return !fields.months.some((month) => fields.daysOfMonth.some((day) => day <= maxDaysInMonth(month)))
}
