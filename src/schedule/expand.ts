/**
 * Validated field text → value sets, by cron-parser (ranges, steps, names, `L`, `nL`, `n#k`): one field
 * (or the date part) at a time, cached by parse.ts; `expand` is the path for expressions it refuses.
 */
import { createRequire } from 'node:module'
import { CronsError, quote } from '../errors.js'
import type { CronFields, NthWeekday } from './cron-fields.js'
import { DAY_OF_WEEK } from './field-grammar.js'

type CronParser = typeof import('cron-parser').CronExpressionParser

/** One field's expanded values as cron-parser reports them: numbers, plus `'L'` / `'5L'` strings. */
type RawValues = readonly (number | string)[]

let cronParser: CronParser | undefined

/** Loaded on first use, through `require`: it is CommonJS, like the luxon it loads that cli/local-time.ts shares. */
function parser(): CronParser {
  cronParser ??= (createRequire(import.meta.url)('cron-parser') as typeof import('cron-parser')).CronExpressionParser
  return cronParser
}

/** The values for `"<dom> <month> <dow>"` (upper-cased), and the k of a day-of-week `n#k` (else 0); may throw. */
export function dateValues(key: string): [RawValues, RawValues, RawValues, number] {
  const parsed = parser().parse(`0 0 0 ${key}`).fields
  return [parsed.dayOfMonth.values, parsed.month.values, parsed.dayOfWeek.values, parsed.dayOfWeek.nthDay]
}

type Expanded = Omit<CronFields, 'hasSeconds' | 'dayOfMonthRestricted' | 'dayOfWeekRestricted'>
export type ExpandedDates = Omit<Expanded, 'seconds' | 'minutes' | 'hours'>

const FIELD_KEYS = ['second', 'minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek'] as const
type TimeKey = 'second' | 'minute' | 'hour'

/** A seconds, minutes or hours text expanded by cron-parser on its own (the other fields single values), or null. */
export function expandTimeField(upper: string, index: number): number[] | null {
  const template = ['0', '0', '0', '1', '1', '0']
  template[index] = upper
  try {
    return Object.freeze(
      numbers(parser().parse(template.join(' ')).fields[FIELD_KEYS[index] as TimeKey].values),
    ) as number[]
  } catch {
    return null
  }
}

/** The numbers among `values`, sorted and deduplicated. */
function numbers(values: RawValues): number[] {
  return [...new Set(values.filter((v): v is number => typeof v === 'number'))].sort((a, b) => a - b)
}

/**
 * The date fields from cron-parser's values. `nth` is its `nthDay` for a day-of-week that is one `n#k`
 * (then `dayOfWeek` is `[n]`); `nthWeekdays` the `n#k` items of a list (cron-parser refuses `#` there).
 */
export function expandedDates(
  dayOfMonth: RawValues,
  month: RawValues,
  dayOfWeek: RawValues,
  nth: number,
  nthWeekdays: NthWeekday[] = [],
): ExpandedDates {
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
    nthWeekdays: sortedNth(nth > 0 && plainDays[0] !== undefined ? [{ weekday: plainDays[0], nth }] : nthWeekdays),
  }
}

function sortedNth(items: NthWeekday[]): NthWeekday[] {
  const unique = new Map(items.map((item) => [item.weekday * 8 + item.nth, item]))
  return [...unique.entries()].sort(([a], [b]) => a - b).map(([, item]) => item)
}

/**
 * Validated 6-field text → value sets, for an expression cron-parser may refuse as a whole: overlapping
 * list items (`0,7`), a day no month has (`31 2`, "never fires" for us), `#` in a list (`5,2#3`). Then
 * each list item is expanded on its own and the results merged.
 */
export function expand(fields: string[], expression: string): Expanded {
  const raw: RawValues[] = []
  let nth = 0
  const nthWeekdays: NthWeekday[] = []
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
          const itemValues = parsed[FIELD_KEYS[index] as (typeof FIELD_KEYS)[number]].values
          const itemNth = index === DAY_OF_WEEK ? parsed.dayOfWeek.nthDay : 0
          if (itemNth > 0) nthWeekdays.push({ weekday: Number(itemValues[0]) % 7, nth: itemNth })
          else for (const value of itemValues) values.add(value)
        }
        raw.push([...values])
      })
    } catch {
      // Only reachable for a form the checks in field-grammar.ts let through but cron-parser rejects.
      const reason = error instanceof Error ? error.message : String(error)
      throw new CronsError('SCHEDULE_INVALID', `schedule ${quote(expression)} is not valid (${reason})`, {
        cause: error,
      })
    }
  }
  const [second = [], minute = [], hour = [], dayOfMonth = [], month = [], dayOfWeek = []] = raw
  const dates = expandedDates(dayOfMonth, month, dayOfWeek, nth, nthWeekdays)
  return { seconds: numbers(second), minutes: numbers(minute), hours: numbers(hour), ...dates }
}
