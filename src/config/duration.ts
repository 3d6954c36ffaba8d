import ms from 'ms'
import { CronsError, quote } from '../errors.js'

/**
 * Durations as users write them. A number is SECONDS, because that is what cron users and the CLI's
 * `--timeout SECONDS` mean; a string goes through `ms` (`'500ms'`, `'90s'`, `'5m'`, `'1.5h'`, `'1d'`,
 * `'2 weeks'`, and compounds such as `'1m 30s'`). A string that is only a number (`'90'`) is also seconds — `ms` alone would read it
 * as milliseconds, which would make `timeout: '90'` silently 1000 times shorter than `timeout: 90`.
 */

/** The tail of every duration error, so all of them teach the same accepted forms. */
export const DURATION_EXPECTED = 'expected seconds as a number, or a string such as "500ms", "90s", "5m", "1h", "1d"'

const PLAIN_NUMBER = /^\d*\.?\d+$/
/** `1m 30s`, `1h30m`: what `formatDuration` prints must be accepted back. */
const COMPOUND = /^(?:\d*\.?\d+\s*[a-z]+\s*)+$/i
const COMPOUND_PART = /(\d*\.?\d+\s*[a-z]+)/gi

function viaMs(text: string): number | undefined {
  const parsed = ms(text as ms.StringValue) as number | undefined
  return typeof parsed === 'number' && Number.isFinite(parsed) ? parsed : undefined
}

function compound(text: string): number | undefined {
  if (!COMPOUND.test(text)) return undefined
  let total = 0
  for (const part of text.match(COMPOUND_PART) ?? []) {
    const value = viaMs(part)
    if (value === undefined) return undefined
    total += value
  }
  return total
}

/** A Date, function or object is never a duration; show numbers as written (NaN, Infinity) rather than as JSON. */
function show(value: unknown): string {
  return typeof value === 'number' ? String(value) : quote(value)
}

/**
 * Parse a duration to whole milliseconds (rounded), or throw `DURATION_INVALID` with a one-line message
 * that quotes the value and lists the accepted forms. Zero is allowed here; callers that need a positive
 * interval (`every`) check that themselves, since "0 means none" is meaningful for `timeout` and `jitter`.
 */
export function parseDuration(value: unknown): number {
  let result: number | undefined
  if (typeof value === 'number') {
    result = Number.isFinite(value) ? value * 1000 : undefined
  } else if (typeof value === 'string') {
    const text = value.trim()
    if (PLAIN_NUMBER.test(text)) result = Number(text) * 1000
    else if (text.length > 0 && text.length <= 100) result = viaMs(text) ?? compound(text)
  }
  if (result === undefined) {
    throw new CronsError('DURATION_INVALID', `${show(value)} is not a duration (${DURATION_EXPECTED})`)
  }
  if (result < 0) {
    throw new CronsError('DURATION_INVALID', `${show(value)} is negative (expected a duration of 0 or more)`)
  }
  return Math.round(result)
}

const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
]

/**
 * The one display form of a duration, in every command and view: `0s`, `0.2s`, `1.5s`, `1m 30s`,
 * `2h`, `1d 2h 3m 4s`. Exact to the millisecond (seconds carry the decimals: `0.003s`, `1m 30.5s`),
 * so a run's duration reads the same wherever it is shown, and `parseDuration` reads it back.
 */
export function formatDuration(milliseconds: number): string {
  if (!Number.isFinite(milliseconds)) return String(milliseconds)
  const sign = milliseconds < 0 ? '-' : ''
  let rest = Math.round(Math.abs(milliseconds))
  if (rest === 0) return '0s'
  const parts: string[] = []
  for (const [unit, size] of UNITS) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`)
      rest %= size
    }
  }
  if (rest > 0) parts.push(`${Number((rest / 1000).toFixed(3))}s`)
  return sign + parts.join(' ')
}
