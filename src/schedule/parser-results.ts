/**
 * cron-parser, and what it answered in earlier processes.
 *
 * Loading cron-parser (and the luxon it requires) costs a CLI start tens of milliseconds, yet for an
 * unchanged config it only repeats the expansions it gave last time. So the values it gives for a
 * field text it accepts can be handed in from outside (the config loader keeps them on disk, next to
 * the compiled config) and are used instead of asking it again. Only accepted texts are kept: text it
 * refuses always reaches it, so its errors, and the messages built from them, never change. This
 * module does no I/O; it only holds the answers and says whether new ones were added.
 */
import { createRequire } from 'node:module'

type CronParser = typeof import('cron-parser').CronExpressionParser

/** One field's expanded values as cron-parser reports them: numbers, plus `'L'` / `'5L'` strings. */
export type RawValues = readonly (number | string)[]

/** Day-of-month, month and day-of-week values, and day-of-week's `nthDay`. */
export type RawDates = readonly [RawValues, RawValues, RawValues, number]

/** What cron-parser answered, by the texts it was asked about. Plain JSON. */
export interface ParserResults {
  /** By `"<field index> <upper-cased text>"` (0 = seconds … 2 = hours): that field's values. */
  time: Record<string, RawValues>
  /** By `"<day-of-month> <month> <day-of-week>"`, upper-cased. */
  dates: Record<string, RawDates>
}

let cronParser: CronParser | undefined

/**
 * cron-parser, loaded on first use: a process whose jobs are all intervals or one-offs, or whose
 * expansions were all handed in, never loads it. Through `require`, like luxon in cli/local-time.ts: one
 * CommonJS instance, and no scan of its files for ESM named exports.
 */
export function parser(): CronParser {
  cronParser ??= (createRequire(import.meta.url)('cron-parser') as typeof import('cron-parser')).CronExpressionParser
  return cronParser
}

/** The version of cron-parser that answers here: results from another version are not used. */
export function parserVersion(): string {
  return (createRequire(import.meta.url)('cron-parser/package.json') as { version: string }).version
}

/**
 * Answers kept at most, like parse.ts's caches: a long-running process that parses ever new texts
 * (a library user building schedules) must not keep every answer. Past it, memory starts again.
 */
const KNOWN_LIMIT = 4096

let known: ParserResults = empty()
let count = 0
let added = false

function empty(): ParserResults {
  return { time: Object.create(null), dates: Object.create(null) }
}

/** Keep a new answer (memory starts again when full). */
function keep<K extends keyof ParserResults>(kind: K, key: string, value: ParserResults[K][string]): void {
  if (count >= KNOWN_LIMIT) {
    known = empty()
    count = 0
  }
  known[kind][key] = value
  count++
  added = true
}

/** Use `results` (from an earlier process, same cron-parser version) before asking cron-parser. */
export function rememberParserResults(results: ParserResults): void {
  known = results
  count = Object.keys(results.time).length + Object.keys(results.dates).length
  added = false
}

/** Everything known now, and whether anything was added since `rememberParserResults`. */
export function parserResults(): { results: ParserResults; added: boolean } {
  return { results: known, added }
}

/** The values of time field `index` for `upper`, from memory or cron-parser; throws if it refuses. */
export function timeValues(index: number, upper: string, template: string): RawValues {
  const key = `${index} ${upper}`
  let values = known.time[key]
  if (values === undefined) {
    values = parser().parse(template).fields[TIME_KEYS[index] as TimeKey].values.slice()
    keep('time', key, values)
  }
  return values
}

type TimeKey = (typeof TIME_KEYS)[number]
const TIME_KEYS = ['second', 'minute', 'hour'] as const

/** The date values for `key` (`"<dom> <month> <dow>"`), from memory or cron-parser; throws if it refuses. */
export function dateValues(key: string): RawDates {
  let dates = known.dates[key]
  if (dates === undefined) {
    const parsed = parser().parse(`0 0 0 ${key}`).fields
    dates = [
      parsed.dayOfMonth.values.slice(),
      parsed.month.values.slice(),
      parsed.dayOfWeek.values.slice(),
      parsed.dayOfWeek.nthDay,
    ]
    keep('dates', key, dates)
  }
  return dates
}
