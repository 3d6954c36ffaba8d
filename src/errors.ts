/**
 * Every failure a user can cause or meet is a `CronsError`: a stable `code`, a one-line message (where,
 * what, what was expected), optional suggestions, and the exit code the CLI uses for it.
 */

/** Exit codes, by class of failure. Documented in docs/cli.md. */
export const EXIT = {
  ok: 0,
  /** A job run failed, timed out, was interrupted or was cancelled. */
  runFailed: 1,
  /** A flag or argument is wrong. */
  usage: 2,
  /** The config file is missing, does not load or does not validate. */
  config: 3,
  /** The state file cannot be opened, read or written. */
  state: 4,
  /** The job is running elsewhere and `--force` was not given. */
  busy: 5,
  /** Health check failed (no scheduler alive). */
  unhealthy: 6,
} as const

/** Stable error codes (docs/errors.md; never renamed once released), each with its exit code. */
const EXIT_BY_CODE = {
  CONFIG_NOT_FOUND: EXIT.config,
  CONFIG_SYNTAX: EXIT.config,
  CONFIG_LOAD: EXIT.config,
  CONFIG_EXPORT: EXIT.config,
  CONFIG_INVALID: EXIT.config,
  SCHEDULE_INVALID: EXIT.usage,
  ZONE_UNKNOWN: EXIT.usage,
  DURATION_INVALID: EXIT.usage,
  FLAG_INVALID: EXIT.usage,
  JOB_UNKNOWN: EXIT.usage,
  JOB_RUNNING: EXIT.busy,
  JOB_DISABLED: EXIT.usage,
  JOB_FAILED: EXIT.runFailed,
  RUN_UNKNOWN: EXIT.usage,
  RUN_FINISHED: EXIT.usage,
  CANCEL_PENDING: EXIT.busy,
  STATE_INVALID: EXIT.state,
  STATE_LOCKED: EXIT.state,
  STATE_READONLY: EXIT.state,
  STATE_GONE: EXIT.state,
  STATE_VERSION: EXIT.state,
  STATE_UNREACHABLE: EXIT.state,
  SCHEDULER_STOPPED: EXIT.runFailed,
  INTERNAL: EXIT.runFailed,
} as const satisfies Record<string, number>

export type ErrorCode = keyof typeof EXIT_BY_CODE

export interface CronsErrorOptions {
  /** The next steps or "did you mean" candidates, shown after the message. */
  suggestions?: string[]
  cause?: unknown
  /** Extra lines (for example one per validation problem). The message stays one line. */
  details?: string[]
  exitCode?: number
}

export class CronsError extends Error {
  readonly code: ErrorCode
  readonly suggestions: string[]
  readonly details: string[]
  readonly exitCode: number

  constructor(code: ErrorCode, message: string, options: CronsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'CronsError'
    this.code = code
    this.suggestions = options.suggestions ?? []
    this.details = options.details ?? []
    this.exitCode = options.exitCode ?? EXIT_BY_CODE[code]
  }
}

/** `STATE_VERSION` for a state older than this crons, refused read-only: opened for writing, it is upgraded. */
export class StateNeedsUpgrade extends CronsError {
  constructor(message: string, options: CronsErrorOptions = {}) {
    super('STATE_VERSION', message, options)
  }
}

export function isCronsError(error: unknown): error is CronsError {
  return error instanceof CronsError
}

/** Whether `error` carries `code`: a `CronsError` (also one from another copy of the package) or a driver's error. */
export function hasCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code
}

/** Quote a user's value for a message: strings in double quotes, the rest as JSON. */
export function quote(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'function') return 'a function'
  if (value === undefined) return 'undefined'
  try {
    const text = JSON.stringify(value)
    return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text
  } catch {
    return String(value)
  }
}

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number
    prev[0] = i
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] as number
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1))
      diag = up
    }
  }
  return prev[b.length] as number
}

/** The closest candidate to `input`, if any is close enough to be a plausible typo. */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  const lower = input.toLowerCase()
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  if (best === undefined) return undefined
  const limit = Math.max(2, Math.floor(Math.max(input.length, best.length) / 3))
  return bestDistance <= limit ? best : undefined
}

/** The one wording of a guess: `did you mean "Europe/Berlin"?`. */
export function didYouMean(guess: string): string {
  return `did you mean ${quote(guess)}?`
}

/** "did you mean" the candidate closest to `input` (worded by `shown`), or nothing when none is close. */
export function suggestClosest(
  input: string,
  candidates: Iterable<string>,
  shown: (guess: string) => string = (guess) => guess,
): string[] {
  const guess = closest(input, candidates)
  return guess === undefined ? [] : [didYouMean(shown(guess))]
}

/** "No job named X": names where it looked and the known jobs, and suggests the closest name. */
export function unknownJob(
  name: string,
  known: readonly string[],
  where?: string,
  none = 'the config has no jobs',
): CronsError {
  const place = where ? ` in ${where}` : ''
  const expected = known.length > 0 ? `known jobs: ${known.join(', ')}` : none
  return new CronsError('JOB_UNKNOWN', `no job named ${quote(name)}${place} (${expected})`, {
    suggestions: suggestClosest(name, known),
  })
}
