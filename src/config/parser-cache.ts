import { readFileSync } from 'node:fs'
import {
  type ParserResults,
  parserResults,
  parserVersion,
  type RawDates,
  type RawValues,
  rememberParserResults,
} from '../schedule/parser-results.js'
import { writeAtomic } from './bundle.js'

/**
 * cron-parser's expansions of a config's schedules, kept on disk beside the compiled config, so that
 * reading an unchanged config loads neither cron-parser nor luxon. Only texts cron-parser accepted are
 * kept (see schedule/parser-results.ts); our own grammar checks still run on every start. A file that
 * is unreadable, of another format or written under another cron-parser version is ignored, and
 * replaced once the expansions have been asked for again.
 */

/** Bump when the file's shape changes. */
const FORMAT = 1

interface Stored {
  format: number
  cronParser: string
  results: ParserResults
}

/** Load the results kept in `file`, if they are usable; returns whether they were. */
export function recallParserResults(file: string): boolean {
  let stored: Stored
  try {
    stored = JSON.parse(readFileSync(file, 'utf8')) as Stored
  } catch {
    rememberParserResults(empty())
    return false
  }
  const usable = isStored(stored) && stored.cronParser === parserVersion()
  rememberParserResults(usable ? stored.results : empty())
  return usable
}

/** Write the results to `file` if cron-parser was asked anything new. Best effort: a cache never fails a command. */
export function storeParserResults(file: string): void {
  const { results, added } = parserResults()
  if (!added) return
  const stored: Stored = { format: FORMAT, cronParser: parserVersion(), results }
  try {
    writeAtomic(file, `${JSON.stringify(stored)}\n`)
  } catch {
    // a read-only or vanished cache dir: the next start asks cron-parser again
  }
}

function empty(): ParserResults {
  return { time: Object.create(null), dates: Object.create(null) }
}

function isStored(value: unknown): value is Stored {
  const stored = value as Partial<Stored> | null
  if (typeof stored !== 'object' || stored === null || stored.format !== FORMAT) return false
  const results = stored.results
  if (typeof results !== 'object' || results === null) return false
  const { time, dates } = results
  if (typeof time !== 'object' || time === null || typeof dates !== 'object' || dates === null) return false
  return Object.values(time).every(isRawValues) && Object.values(dates).every(isRawDates)
}

function isRawValues(value: unknown): value is RawValues {
  return Array.isArray(value) && value.every((v) => typeof v === 'number' || typeof v === 'string')
}

function isRawDates(value: unknown): value is RawDates {
  return (
    Array.isArray(value) &&
    value.length === 4 &&
    isRawValues(value[0]) &&
    isRawValues(value[1]) &&
    isRawValues(value[2]) &&
    typeof value[3] === 'number'
  )
}
