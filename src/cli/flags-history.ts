/** Flag parsers for the history commands, as in flags.ts (not oclif's `options`, worded otherwise). */
import { parseDuration } from '../config/duration.js'
import { CronsError, quote, suggestClosest } from '../errors.js'
import { parseInstantFlag } from './flags.js'

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
