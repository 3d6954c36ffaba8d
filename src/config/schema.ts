import * as z from 'zod'
import { CronsError } from '../errors.js'
import * as f from './fields.js'
import type { BackoffKind, HookContext, JobContext } from './types.js'

/**
 * The config's shape as zod schemas. zod contributes what it is good at — strict objects (so a typo
 * such as `shedule` is reported instead of ignored), paths, and collecting every issue in one pass —
 * while each leaf is one of our parsers from `fields.ts`, so the wording of every message is ours.
 * Rules that span fields (exactly one of schedule/every/at, unique names, parsing the cron in the
 * job's zone) live in `validate.ts`, which runs them even when this pass found problems.
 */

/** Wrap a parser as an optional zod field: `undefined` means "not set", anything else must parse. */
function optional<T>(parse: (value: unknown) => T) {
  return required(parse).optional()
}

/** Wrap a parser as a required zod field: a missing key is reported by the parser ("missing (expected …)"). */
function required<T>(parse: (value: unknown) => T) {
  return z.unknown().transform((value, ctx): T => run(parse, value, ctx))
}

function run<T>(parse: (value: unknown) => T, value: unknown, ctx: z.RefinementCtx): T {
  try {
    return parse(value)
  } catch (error) {
    if (!(error instanceof CronsError)) throw error
    ctx.addIssue({ code: 'custom', message: error.message, input: value })
    return z.NEVER
  }
}

/** The message for an object or array given as something else; unknown keys are worded in validate.ts. */
function wrongKind(what: string) {
  return (issue: { code?: string; input?: unknown }) =>
    issue.code === 'invalid_type' ? f.expected(what, issue.input) : undefined
}

type Hook = (ctx: HookContext) => unknown

const hooksSchema = z
  .strictObject(
    {
      beforeRun: optional(f.aFunction<Hook>('a function')),
      afterRun: optional(f.aFunction<Hook>('a function')),
      onError: optional(f.aFunction<Hook>('a function')),
    },
    { error: wrongKind('an object with beforeRun, afterRun or onError functions') },
  )
  .optional()

const retrySchema = z
  .strictObject(
    {
      max: optional(f.retryCount),
      backoff: optional(f.oneOf<BackoffKind>(f.BACKOFF_KINDS)),
      initial: optional(f.duration),
      maxDelay: optional(f.duration),
      jitter: optional(f.fraction),
    },
    { error: wrongKind('an object such as { max: 3, backoff: "exponential", initial: "1s" }') },
  )
  .optional()

export const jobSchema = z.strictObject(
  {
    name: required(f.jobName),
    schedule: optional(f.aString('a cron expression such as "0 3 * * *" or "@daily"')),
    every: optional(f.interval),
    at: optional(f.instant),
    tz: optional(f.zone),
    timeout: optional(f.duration),
    retry: retrySchema,
    overlap: optional(f.oneOf(f.OVERLAP_MODES)),
    catchUp: optional(f.aBoolean),
    misfireGrace: optional(f.duration),
    jitter: optional(f.duration),
    tags: z.array(required(f.aString('a non-empty string')), { error: wrongKind('an array of strings') }).optional(),
    description: optional(f.aString('a string')),
    hooks: hooksSchema,
    run: required(f.aFunction<(ctx: JobContext) => unknown>('a function')),
  },
  { error: wrongKind('a job object such as { name, schedule, run }') },
)

export const configSchema = z.strictObject({
  state: optional(f.aString('a file path or ":memory:"')),
  timezone: optional(f.zone),
  shutdownGrace: optional(f.duration),
  history: z
    .strictObject(
      {
        keepDays: optional(f.positiveNumber('a number of days greater than 0')),
        keepRuns: optional(f.positiveInteger('a whole number of runs, 1 or more')),
      },
      { error: wrongKind('an object such as { keepDays: 30, keepRuns: 10000 }') },
    )
    .optional(),
  hooks: hooksSchema,
  jobs: z.array(jobSchema, { error: wrongKind('an array of jobs') }),
})

export type ParsedConfig = z.output<typeof configSchema>
export type ParsedJob = z.output<typeof jobSchema>

/** Known keys per object, for "did you mean" on unknown keys. */
export const KNOWN_KEYS = {
  config: Object.keys(configSchema.shape),
  job: Object.keys(jobSchema.shape),
  retry: Object.keys(retrySchema.unwrap().shape),
  history: Object.keys(configSchema.shape.history.unwrap().shape),
  hooks: Object.keys(hooksSchema.unwrap().shape),
} as const
