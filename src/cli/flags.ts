/**
 * Flag values, validated here rather than by oclif (its errors are multi-line): each returns the value
 * or throws a one-line `CronsError` naming the flag, the bad value and what was expected.
 */
import { Flags } from '@oclif/core'
import { parseDuration } from '../config/duration.js'
import { CronsError, quote, suggestClosest } from '../errors.js'
import { isValidZone, unknownZone } from '../schedule/index.js'
import { parseInstant } from '../schedule/instant.js'

/** A whole number in [min, max]. */
export function parseIntegerFlag(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new CronsError(
      'FLAG_INVALID',
      `--${name} ${quote(raw)} is not valid (expected a whole number from ${min} to ${max})`,
    )
  }
  return Number(raw)
}

/** A duration as a config's (`90s`, `1h 30m`), or with `seconds` a bare number of seconds; at least `minMs`. */
export function parseDurationFlag(
  name: string,
  raw: string,
  rule: { minMs: number; seconds: boolean; expected: string },
): number {
  const text = raw.trim()
  let ms = Number.NaN
  try {
    ms = parseDuration(rule.seconds && /^\d+(\.\d+)?$/.test(text) ? Number(text) : text)
  } catch {
    // Reported below, naming the flag.
  }
  if (!(ms >= rule.minMs)) {
    throw new CronsError('FLAG_INVALID', `--${name} ${quote(raw)} is not valid (expected ${rule.expected})`)
  }
  return ms
}

/** An ISO-8601 instant that carries an offset or Z, read as a job's `at:` is (schedule/instant.ts). */
export function parseInstantFlag(name: string, raw: string): number {
  const parsed = parseInstant(raw)
  if ('ms' in parsed) return parsed.ms
  throw new CronsError('FLAG_INVALID', `--${name} ${quote(raw)} ${parsed.wrong}`)
}

/** An IANA time zone, with a did-you-mean. */
export function parseZoneFlag(name: string, raw: string): string {
  if (isValidZone(raw)) return raw
  throw unknownZone(raw, `--${name}`)
}

/** One of a fixed set of words, with a did-you-mean for typos. */
export function parseChoiceFlag<T extends string>(name: string, raw: string, choices: readonly T[]): T {
  const found = choices.find((choice) => choice === raw.trim())
  if (found !== undefined) return found
  throw new CronsError('FLAG_INVALID', `--${name} ${quote(raw)} is not valid (expected one of ${choices.join(', ')})`, {
    suggestions: suggestClosest(raw, choices),
  })
}

/**
 * A start instant: a duration back from `now` (`90m`, `1h 30m`) or an ISO instant with an offset.
 * What starts like a date is an instant, so `2025-03-09T06:00` gets the error that says what is missing.
 */
export function parseSinceFlag(name: string, raw: string, now: number): number {
  const text = raw.trim()
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) return parseInstantFlag(name, text)
  let ms: number | undefined
  try {
    ms = parseDuration(text)
  } catch {
    ms = undefined
  }
  if (ms === undefined || ms <= 0 || !/[a-z]/i.test(text)) {
    throw new CronsError(
      'FLAG_INVALID',
      `--${name} ${quote(raw)} is not valid (expected a duration back from now such as 90m, 2h or 1d, or an ISO instant with an offset such as 2025-03-09T06:00:00Z)`,
    )
  }
  return now - ms
}

/** A run id as `crons logs` lists it; `what` names the flag or argument, `expected` what it is. */
export function parseRunId(raw: string, what: string, expected: string): number {
  const id = /^\d{1,15}$/.test(raw.trim()) ? Number(raw) : 0
  if (id < 1) {
    throw new CronsError(
      'FLAG_INVALID',
      `${what} ${quote(raw)} is not valid (expected ${expected} such as 42, as listed by crons logs)`,
    )
  }
  return id
}

/** `--wide`, on every command that draws a table. */
export const wideFlag = Flags.boolean({
  description: "Show every cell in full instead of fitting the table to the terminal's width.",
  default: false,
})
