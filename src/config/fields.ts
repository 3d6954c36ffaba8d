/**
 * One parser per kind of config value: the resolved value, or a `CronsError` with the field's problem
 * (`expected X, got Y`) that schema.ts puts at its path. Input is `unknown`: the types are a wish.
 */
import { CronsError, closest, didYouMean as guessWording, quote } from '../errors.js'
import { isValidZone, knownZones, unknownZoneMessage } from '../schedule/index.js'
import { INSTANT_EXPECTED, parseInstant } from '../schedule/instant.js'
import { parseDuration } from './duration.js'
import type { BackoffKind, JobContext } from './types.js'

/** How a value is shown inside a message: numbers as written (`NaN`, not `null`), Dates as instants. */
export function show(value: unknown): string {
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? 'an invalid Date' : `a Date (${value.toISOString()})`
  return typeof value === 'number' ? String(value) : quote(value)
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function problem(message: string): never {
  throw new CronsError('CONFIG_INVALID', message)
}

/** The message for a value of the wrong kind; a missing value reads better as "missing" than "got undefined". */
export function expected(what: string, value: unknown): string {
  return value === undefined ? `missing (expected ${what})` : `expected ${what}, got ${show(value)}`
}

/** Suffix ` (did you mean "x"?)` when a typo is plausible, else the empty string. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const match = closest(input, candidates)
  return match === undefined || match === input ? '' : ` (${guessWording(match)})`
}

export function aString(what: string): (value: unknown) => string {
  return (value) => (typeof value === 'string' && value.trim() !== '' ? value : problem(expected(what, value)))
}

export function aFunction<F>(what: string): (value: unknown) => F {
  return (value) => (typeof value === 'function' ? (value as F) : problem(expected(what, value)))
}

export function aBoolean(value: unknown): boolean {
  return typeof value === 'boolean' ? value : problem(expected('true or false', value))
}

/** One of two or more words, listed as `"a", "b" or "c"`. */
export function oneOf<T extends string>(allowed: readonly T[]): (value: unknown) => T {
  const quoted = allowed.map((word) => JSON.stringify(word))
  const list = `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`
  return (value) => {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T
    const hint = typeof value === 'string' ? didYouMean(value, allowed) : ''
    return problem(expected(list, value) + hint)
  }
}

export const BACKOFF_KINDS: readonly BackoffKind[] = ['exponential', 'linear', 'constant']
export const OVERLAP_MODES = ['skip', 'allow'] as const

/** Letters, digits and the separators people use in job names; no spaces, so names work unquoted in a shell. */
const JOB_NAME = /^[A-Za-z0-9._:-]+$/
const JOB_NAME_RULE = 'a job name of letters, digits, ".", "_", "-" or ":"'

export function jobName(value: unknown): string {
  if (typeof value === 'string' && JOB_NAME.test(value)) return value
  return problem(expected(value === '' ? `a non-empty name (${JOB_NAME_RULE})` : JOB_NAME_RULE, value))
}

/** A job's `run`; a string there is almost always a command line meant for `command`. */
export function runFunction(value: unknown): (ctx: JobContext) => unknown {
  if (typeof value === 'function') return value as (ctx: JobContext) => unknown
  const hint = typeof value === 'string' || Array.isArray(value) ? ' (a command to run goes in "command")' : ''
  return problem(expected('a function', value) + hint)
}

/** Why text for a program (its argv, cwd, environment) cannot hold a NUL byte: Node refuses it at every run. */
const NUL_ENDS = 'the system cuts what it passes to a program at a NUL byte'

/** `text` as is, or refused when it has a NUL byte, naming `what` it is. */
function withoutNul(what: string, text: string): string {
  if (!text.includes('\0')) return text
  return problem(`${what} has a NUL byte: ${quote(text)} (expected text without one: ${NUL_ENDS})`)
}

const COMMAND_EXPECTED =
  'a command line such as "pg_dump mydb > db.sql", or an argv array such as ["node", "script.js"]'

/** A non-blank shell command line, or an argv: a non-empty array of strings, the first naming the program. */
export function command(value: unknown): string | readonly string[] {
  if (typeof value === 'string') {
    return value.trim() !== '' ? withoutNul('the command line', value) : problem(expected(COMMAND_EXPECTED, value))
  }
  if (!Array.isArray(value)) return problem(expected(COMMAND_EXPECTED, value))
  if (value.length === 0)
    return problem(`an empty argv array (expected the program and its arguments, such as ["node", "script.js"])`)
  const index = value.findIndex((arg) => typeof arg !== 'string')
  if (index >= 0) return problem(`argv[${index}] is ${show(value[index])} (expected every argument to be a string)`)
  if ((value[0] as string).trim() === '') return problem('argv[0] is empty (expected the program to run)')
  return (value as string[]).map((arg, i) => withoutNul(`argv[${i}]`, arg))
}

/** A command's working folder. */
export function folder(value: unknown): string {
  return withoutNul('the folder path', aString('a folder path')(value))
}

export function envVars(value: unknown): Record<string, string> {
  if (!isRecord(value)) {
    return problem(expected('an object of variable names to strings, such as { PGHOST: "db" }', value))
  }
  for (const [name, text] of Object.entries(value)) {
    if (name === '' || name.includes('=')) {
      return problem(
        `${JSON.stringify(name)} is not a variable name (expected a non-empty name without "=", such as PGHOST)`,
      )
    }
    withoutNul('the variable name', name)
    if (typeof text !== 'string') {
      return problem(`${JSON.stringify(name)} is ${show(text)} (expected a string: environment variables are text)`)
    }
    withoutNul(`the value of ${JSON.stringify(name)}`, text)
  }
  return { ...(value as Record<string, string>) }
}

/** Any duration (0 allowed, meaning "none" for timeout and jitter). */
export function duration(value: unknown): number {
  try {
    return parseDuration(value)
  } catch (error) {
    return problem(value === undefined ? 'missing (expected a duration)' : (error as Error).message)
  }
}

/** An interval: 0 would fire continuously, so it is refused rather than treated as "none". */
export function interval(value: unknown): number {
  const ms = duration(value)
  return ms > 0
    ? ms
    : problem(`${show(value)} is not a positive interval (expected a duration greater than 0, such as "5m")`)
}

export function fraction(value: unknown): number {
  return typeof value === 'number' && value >= 0 && value <= 1
    ? value
    : problem(expected('a fraction from 0 to 1', value))
}

export function positiveNumber(what: string): (value: unknown) => number {
  return (value) =>
    typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : problem(expected(what, value))
}

export function wholeNumber(min: number, what: string): (value: unknown) => number {
  return (value) =>
    Number.isSafeInteger(value) && (value as number) >= min ? (value as number) : problem(expected(what, value))
}

export function zone(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    return problem(expected('an IANA time zone name such as "Europe/Berlin" or "UTC"', value))
  }
  if (isValidZone(value)) return value
  return problem(unknownZoneMessage(value) + didYouMean(value, knownZones()))
}

/** A valid `Date`, or an ISO-8601 instant WITH `Z` or an offset (schedule/instant.ts), to epoch ms. */
export function instant(value: unknown): number {
  const expectedHere = `a Date, or ${INSTANT_EXPECTED}`
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? problem(expected(expectedHere, value)) : value.getTime()
  }
  if (typeof value !== 'string') return problem(expected(expectedHere, value))
  const parsed = parseInstant(value, expectedHere)
  return 'ms' in parsed ? parsed.ms : problem(`${quote(value)} ${parsed.wrong}`)
}
