/**
 * Cron expression → fields: split the text, resolve an alias, check each field (field-grammar.ts) and
 * expand it (expand.ts). Each distinct field text is checked and expanded once and the results shared,
 * so registering many schedules stays cheap; an expression cron-parser refuses as a whole is not cached.
 */
import { quote } from '../errors.js'
import { expandAlias } from './aliases.js'
import { type CronFields, neverFires } from './cron-fields.js'
import { dateValues, type ExpandedDates, expand, expandedDates, expandTimeField } from './expand.js'
import { checkField, DAY_OF_MONTH, type FieldSpec, invalid, SPECS } from './field-grammar.js'

/** Parse and validate `expression`; throws `SCHEDULE_INVALID` with a one-line message. */
export function parseFields(expression: string): CronFields {
  // A copy: the lists are shared with other schedules.
  return structuredClone(resolveFields(expression).fields)
}

/** Fields whose lists may be shared (frozen); the same `key` matches the same wall times, null if not cached. */
export interface ResolvedFields {
  readonly fields: CronFields
  readonly key: string | null
}

/** Each cache is emptied past this size; ids are never reused, so keys built from old entries never match. */
const CACHE_LIMIT = 4096
let nextId = 0

/** A validated field text, upper-cased for cron-parser. */
interface FieldEntry {
  readonly id: number
  readonly upper: string
  /** A time field's sorted values (frozen), or null if cron-parser refuses it alone; null for date fields. */
  readonly values: number[] | null
}

/** Day-of-month, month and day-of-week, which cron-parser expands together. */
interface DateEntry {
  readonly id: number
  readonly dates: ExpandedDates
}

/** One map per field (seconds first), keyed by the text as written. */
const fieldCache: Map<string, FieldEntry>[] = SPECS.map(() => new Map())
/** Keyed by the three upper-cased texts; null where cron-parser refuses them together. */
const dateCache = new Map<string, DateEntry | null>()

/** The longest expression cron-parser accepts (its MAX_EXPRESSION_LENGTH). */
const PARSER_MAX_LENGTH = 1024

type Six<T> = [T, T, T, T, T, T]

/** Like `parseFields`, but the value lists are shared (see `ResolvedFields`). */
export function resolveFields(expression: string): ResolvedFields {
  const trimmed = expression.trim()
  if (trimmed === '') throw invalid('schedule is empty (expected 5 or 6 fields, or an alias such as @daily)')
  const parts = expandAlias(trimmed.split(/\s+/), expression)
  if (parts.length !== 5 && parts.length !== 6) {
    throw invalid(`expected 5 or 6 fields, got ${parts.length} in ${quote(expression)}`)
  }
  const hasSeconds = parts.length === 6
  const texts = hasSeconds ? parts : ['0', ...parts]
  const entries = texts.map((text, index) => fieldEntry(text, index, expression)) as Six<FieldEntry>
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = entries
  const length = entries.reduce((sum, entry) => sum + entry.upper.length, 5)
  const date = dateEntry(dayOfMonth.upper, month.upper, dayOfWeek.upper)
  const dayOfMonthRestricted = dayOfMonth.upper !== '*'
  const dayOfWeekRestricted = dayOfWeek.upper !== '*'
  const flags = { hasSeconds, dayOfMonthRestricted, dayOfWeekRestricted }
  const [seconds, minutes, hours] = [second.values, minute.values, hour.values]
  // cron-parser accepts each time field alone and the date part together, and nothing else spans fields, so it
  // accepts the whole expression and expands it to exactly these shared values. Refused as a whole (overlapping
  // list items, a day no listed month has, …): expanded item by item.
  const shared = seconds !== null && minutes !== null && hours !== null && date !== null && length <= PARSER_MAX_LENGTH
  const uppers = entries.map((entry) => entry.upper)
  const fields: CronFields = shared
    ? { seconds, minutes, hours, ...date.dates, ...flags }
    : { ...expand(uppers, expression), ...flags }
  if (neverFires(fields)) throw invalid(`${quote(expression)} never fires (no day matches)`)
  return { fields, key: shared ? `${second.id} ${minute.id} ${hour.id} ${date.id}` : null }
}

/** Validated (and for a time field, expanded) on first sight of its text. */
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

/** The date values for these texts (they interact: a single month trims the days it lacks), or null if refused. */
function dateEntry(dayOfMonth: string, month: string, dayOfWeek: string): DateEntry | null {
  const key = `${dayOfMonth} ${month} ${dayOfWeek}`
  let entry = dateCache.get(key)
  if (entry === undefined) {
    try {
      const dates = Object.freeze(expandedDates(...dateValues(key)))
      for (const list of Object.values(dates)) if (Array.isArray(list)) Object.freeze(list)
      for (const item of dates.nthWeekdays) Object.freeze(item)
      entry = Object.freeze({ id: nextId++, dates })
    } catch {
      entry = null
    }
    if (dateCache.size >= CACHE_LIMIT) dateCache.clear()
    dateCache.set(key, entry)
  }
  return entry
}
