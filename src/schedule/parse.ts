/**
 * Cron expression → value sets, with the error messages users need.
 *
 * cron-parser expands the fields (ranges, steps, names, `L`, `nL`, `n#k`), but its messages
 * ("Constraint error, got value 60 expected range 0-59") name neither the field nor the expression.
 * So every field is first checked here against the grammar of SEMANTICS §1, which is also where the
 * one-line "field, value, allowed range, whole expression" messages come from; cron-parser then only
 * sees text that is already known to be valid.
 */
import { CronExpressionParser } from 'cron-parser'
import { CronsError, closest, quote } from '../errors.js'
import { maxDaysInMonth } from './calendar.js'

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
  const texts = hasSeconds ? parts : ['0', ...parts]
  const normalized = texts.map((text, index) => checkField(text, SPECS[index] as FieldSpec, index, expression))

  const fields = expand(normalized, expression)
  const result: CronFields = {
    ...fields,
    hasSeconds,
    dayOfMonthRestricted: texts[DAY_OF_MONTH] !== '*',
    dayOfWeekRestricted: texts[DAY_OF_WEEK] !== '*',
  }
  if (neverFires(result)) throw invalid(`${quote(expression)} never fires (no day matches)`)
  return result
}

/**
 * Validate one field and return it upper-cased for cron-parser. Throws the first problem found,
 * naming the field, the offending part and what was expected.
 */
function checkField(text: string, spec: FieldSpec, index: number, expression: string): string {
  const where = `in ${quote(expression)}`
  const forms = `${spec.expected}, a range a-b, a step */n or a-b/n, or a list${index === DAY_OF_WEEK ? ', nL or n#k' : ''}`
  const items = text.split(',')
  for (const item of items) {
    if (item === '') throw invalid(`${spec.name} ${quote(text)} is not valid ${where} (expected ${forms})`)
    const upper = item.toUpperCase()
    if (index === DAY_OF_MONTH && upper === 'L') continue
    const hash = upper.indexOf('#')
    if (index === DAY_OF_WEEK && hash > 0) {
      const day = upper.slice(0, hash)
      const nth = upper.slice(hash + 1)
      checkValue(day, spec, where)
      if (!/^[1-5]$/.test(nth)) {
        throw invalid(`${spec.name} ${quote(item)} is not valid ${where} (the occurrence after # must be 1-5)`)
      }
      if (items.length > 1) {
        throw invalid(`${spec.name} ${quote(text)} is not valid ${where} (n#k cannot be combined with other days)`)
      }
      continue
    }
    if (index === DAY_OF_WEEK && upper.length > 1 && upper.endsWith('L') && !upper.includes('/')) {
      checkValue(upper.slice(0, -1), spec, where)
      continue
    }
    const slash = item.split('/')
    if (slash.length > 2) throw invalid(`${spec.name} ${quote(item)} is not valid ${where} (expected ${forms})`)
    const [range = '', step] = slash
    if (step !== undefined) {
      const size = Number(step)
      if (!/^\d+$/.test(step) || size < 1 || size > spec.max) {
        throw invalid(
          `${spec.name} step ${quote(item)} is not valid ${where} (expected a whole number from 1 to ${spec.max} after /)`,
        )
      }
    }
    if (range === '*') continue
    const bounds = range.split('-')
    if (bounds.length > 2 || bounds.some((bound) => bound === '')) {
      throw invalid(`${spec.name} ${quote(item)} is not valid ${where} (expected ${forms})`)
    }
    const low = checkValue(bounds[0] as string, spec, where)
    if (bounds.length === 2) {
      const high = checkValue(bounds[1] as string, spec, where)
      if (low > high) {
        throw invalid(
          `${spec.name} range ${quote(range)} is not valid ${where} (${low} is greater than ${high}; ranges do not wrap around, use a list such as ${low}-${spec.max},${spec.min}-${high})`,
        )
      }
    }
  }
  return text.toUpperCase()
}

/** A single number or name; returns its numeric value. */
function checkValue(token: string, spec: FieldSpec, where: string): number {
  if (/^\d+$/.test(token)) {
    const value = Number(token)
    if (value < spec.min || value > spec.max) {
      throw invalid(`${spec.name} ${value} is out of range ${spec.min}-${spec.max} ${where}`)
    }
    return value
  }
  const nameIndex = spec.names?.indexOf(token.toUpperCase()) ?? -1
  if (nameIndex >= 0) return nameIndex + spec.min
  const suggestion = spec.names !== undefined && /^[a-z]+$/i.test(token) ? closest(token, spec.names) : undefined
  throw invalid(`${spec.name} ${quote(token)} is not valid ${where} (expected ${spec.expected})`, suggestion)
}

type Expanded = Omit<CronFields, 'hasSeconds' | 'dayOfMonthRestricted' | 'dayOfWeekRestricted'>

/** One field's expanded values as cron-parser reports them: numbers, plus `'L'` / `'5L'` strings. */
type RawValues = readonly (number | string)[]
const FIELD_KEYS = ['second', 'minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek'] as const

/**
 * Expand validated 6-field text into value sets with cron-parser. Whole-expression parsing is the
 * fast path. cron-parser also refuses lists whose items overlap (`0,7`, `1-5,3`) and day/month pairs
 * that never occur (`31 2`); classic cron accepts the first and SEMANTICS §1 wants "never fires" for
 * the second, so on any refusal each list item is expanded on its own and the results merged.
 */
function expand(fields: string[], expression: string): Expanded {
  const raw: RawValues[] = []
  let nth = 0
  try {
    const parsed = CronExpressionParser.parse(fields.join(' ')).fields
    for (const key of FIELD_KEYS) raw.push(parsed[key].values)
    nth = parsed.dayOfWeek.nthDay
  } catch (error) {
    try {
      fields.forEach((field, index) => {
        const values = new Set<number | string>()
        for (const item of field.split(',')) {
          const template = ['*', '*', '*', '*', '*', '*']
          template[index] = item
          const parsed = CronExpressionParser.parse(template.join(' ')).fields
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
  const numbers = (values: RawValues): number[] =>
    [...new Set(values.filter((v): v is number => typeof v === 'number'))].sort((a, b) => a - b)
  const plainDays = numbers(dayOfWeek.map((v) => (typeof v === 'number' ? v % 7 : v)))
  const lastWeekdays = dayOfWeek
    .filter((v): v is string => typeof v === 'string' && v.endsWith('L'))
    .map((v) => Number(v.slice(0, -1)) % 7)
  return {
    seconds: numbers(second),
    minutes: numbers(minute),
    hours: numbers(hour),
    daysOfMonth: numbers(dayOfMonth),
    lastDayOfMonth: dayOfMonth.includes('L'),
    months: numbers(month),
    daysOfWeek: nth > 0 ? [] : plainDays,
    lastWeekdays: numbers(lastWeekdays),
    nthWeekday: nth > 0 && plainDays[0] !== undefined ? { weekday: plainDays[0], nth } : null,
  }
}

/**
 * Only a day-of-month restriction on its own can rule out every day (`0 0 31 2 *`); any
 * day-of-week term matches some day of every month sooner or later (a fifth Friday in February
 * included, in leap years), and under the OR rule that is enough.
 */
function neverFires(fields: CronFields): boolean {
  if (!fields.dayOfMonthRestricted || fields.dayOfWeekRestricted || fields.lastDayOfMonth) return false
  return !fields.months.some((month) => fields.daysOfMonth.some((day) => day <= maxDaysInMonth(month)))
}
