/**
 * Durations as users write them: a number is SECONDS (as cron users and `--timeout SECONDS` mean); a
 * string goes through `ms` (`'90s'`, `'2 weeks'`, compounds such as `'1m 30s'`), except that a bare
 * number string is seconds too: `ms` would make `timeout: '90'` 1000 times shorter than `timeout: 90`.
 */
import ms from 'ms'
import { CronsError, quote } from '../errors.js'

/** The tail of every duration error. */
export const DURATION_EXPECTED = 'expected seconds as a number, or a string such as "500ms", "90s", "5m", "1h", "1d"'

/**
 * The longest duration: 100,000,000 days (about 273,790 years), the span of a JavaScript Date, in whole
 * milliseconds a number holds exactly. Past it (`1e306` seconds is Infinity ms) a timeout or jitter is no
 * timer at all. A Node timer holds ~24.8 days; the clock chains longer ones (core/clock.ts).
 */
export const MAX_DURATION_MS = 8.64e15

const PLAIN_NUMBER = /^\d*\.?\d+$/
/** `1m 30s`, `1h30m`: what `formatDuration` prints is accepted back. */
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

/** A duration in whole milliseconds, or `DURATION_INVALID`. Zero is allowed ("none" for `timeout` and `jitter`). */
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
  const rounded = Math.round(result)
  if (!(rounded <= MAX_DURATION_MS)) {
    throw new CronsError(
      'DURATION_INVALID',
      `${show(value)} is not a duration a timer can hold (expected at most ${formatDuration(MAX_DURATION_MS)}, about 273,790 years)`,
    )
  }
  return rounded
}

const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
]

/** The one display form of a duration, exact to the millisecond: `0.003s`, `1m 30.5s`, `1d 2h 3m 4s`. */
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
