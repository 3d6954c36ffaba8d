import * as v from 'valibot'
import { CronsError } from '../errors.js'
import * as f from './fields.js'
import type { BackoffKind, HookContext } from './types.js'

/**
 * The config's shape as valibot schemas. valibot contributes what it is good at — strict objects (so a
 * typo such as `shedule` is reported instead of ignored), paths, and collecting every issue in one
 * pass — while each leaf is one of our parsers from `fields.ts`, so the wording of every message is
 * ours. Rules that span fields (exactly one of schedule/every/at, exactly one of run/command, unique
 * names, parsing the cron in the job's zone) live in `validate.ts`, which runs them even when this pass
 * found problems.
 *
 * valibot rather than zod: it loads in a fraction of the time, and every command that reads the config
 * pays for it at start-up. Parse with `abortEarly` and `abortPipeEarly` off (the default), or only the
 * first problem is reported.
 */

/** Wrap a parser as an optional field: `undefined` means "not set", anything else must parse. */
function optional<T>(parse: (value: unknown) => T) {
  return v.optional(required(parse))
}

/**
 * Wrap a parser as a required field: the parser's `CronsError` message becomes the issue's message. A
 * missing key is reported by the parser too ("missing (expected …)"), see `missingKey`.
 */
function required<T>(parse: (value: unknown) => T) {
  return v.pipe(
    v.unknown(),
    v.rawTransform<unknown, T>(({ dataset, addIssue, NEVER }) => {
      try {
        return parse(dataset.value)
      } catch (error) {
        if (!(error instanceof CronsError)) throw error
        addIssue({ message: error.message })
        return NEVER
      }
    }),
  )
}

/** The message for an object or array given as something else; unknown keys are worded in validate.ts. */
function wrongKind(what: string) {
  return (issue: { input: unknown }) => f.expected(what, issue.input)
}

/**
 * An object's fields, each entry's issues at `path + key`; its `entries` are the known keys (KNOWN_KEYS).
 * Unknown keys pass here: `strictObject` reports them, and makes it a field.
 */
function fields<const E extends v.ObjectEntries>(entries: E) {
  return v.object(entries, missingKey(entries))
}

/**
 * A key that is absent (rather than set to `undefined`) is not run through its schema by valibot, which
 * reports "Invalid key" instead; word it as the field's own parser words a missing value.
 */
function missingKey(entries: v.ObjectEntries) {
  return (issue: v.BaseIssue<unknown>): string => {
    const key = issue.path?.at(-1)?.key
    const schema = typeof key === 'string' ? entries[key] : undefined
    return (schema && v.safeParse(schema, undefined).issues?.[0]?.message) ?? issue.message
  }
}

const isObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * A strict object as the config means it: anything but a non-null, non-array object is refused with
 * `what` in the message (valibot's objects take arrays); then the fields are checked AND, alongside,
 * every other key is reported, so one pass lists all of them. Not valibot's `strictObject`, which
 * stops at the first unknown key, nor `objectWithRest`, which skips inherited keys and keys named
 * `constructor`, `prototype` or `__proto__`.
 */
function strictObject<const E extends v.ObjectEntries>(
  object: v.ObjectSchema<E, v.ErrorMessage<v.ObjectIssue>>,
  what: string,
) {
  return v.pipe(v.custom<unknown>(isObject, wrongKind(what)), v.intersect([object, noOtherKeys(object.entries)]))
}

/**
 * One issue per key (enumerable, own or inherited, as `for…in` sees them) that is not an entry. The
 * issue looks like valibot's own for an unknown key (`expected: 'never'`, the key last in its path);
 * validate.ts words it, with "did you mean". Outputs `{}`, which the intersection merges away.
 */
function noOtherKeys(entries: v.ObjectEntries) {
  return v.pipe(
    v.unknown(),
    v.rawCheck<unknown>(({ dataset, addIssue }) => {
      const input = dataset.value as Record<string, unknown>
      for (const key in input) {
        if (Object.hasOwn(entries, key)) continue
        const path: [v.ObjectPathItem] = [{ type: 'object', origin: 'key', input, key, value: input[key] }]
        addIssue({ label: 'key', input: key, expected: 'never', path })
      }
    }),
    v.transform(() => ({})),
  )
}

/** Is this issue an unknown key, from `noOtherKeys` (the key is last in its path)? */
export function isUnknownKey(issue: v.BaseIssue<unknown>): boolean {
  return issue.type === 'raw_check' && issue.expected === 'never'
}

type Hook = (ctx: HookContext) => unknown

const hooksObject = fields({
  beforeRun: optional(f.aFunction<Hook>('a function')),
  afterRun: optional(f.aFunction<Hook>('a function')),
  onError: optional(f.aFunction<Hook>('a function')),
})
const hooksSchema = v.optional(strictObject(hooksObject, 'an object with beforeRun, afterRun or onError functions'))

const retryObject = fields({
  max: optional(f.retryCount),
  backoff: optional(f.oneOf<BackoffKind>(f.BACKOFF_KINDS)),
  initial: optional(f.duration),
  maxDelay: optional(f.duration),
  jitter: optional(f.fraction),
})

const historyObject = fields({
  keepDays: optional(f.positiveNumber('a number of days greater than 0')),
  keepRuns: optional(f.positiveInteger('a whole number of runs, 1 or more')),
})

const jobObject = fields({
  name: required(f.jobName),
  schedule: optional(f.aString('a cron expression such as "0 3 * * *" or "@daily"')),
  every: optional(f.interval),
  at: optional(f.instant),
  tz: optional(f.zone),
  timeout: optional(f.duration),
  retry: v.optional(strictObject(retryObject, 'an object such as { max: 3, backoff: "exponential", initial: "1s" }')),
  overlap: optional(f.oneOf(f.OVERLAP_MODES)),
  catchUp: optional(f.aBoolean),
  misfireGrace: optional(f.duration),
  jitter: optional(f.duration),
  tags: v.optional(v.array(required(f.aString('a non-empty string')), wrongKind('an array of strings'))),
  description: optional(f.aString('a string')),
  hooks: hooksSchema,
  run: optional(f.runFunction),
  command: optional(f.command),
  cwd: optional(f.aString('a folder path')),
  env: optional(f.envVars),
  killGrace: optional(f.duration),
  enabled: optional(f.aBoolean),
})
export const jobSchema = strictObject(jobObject, 'a job object such as { name, schedule, run }')

const configObject = fields({
  state: optional(f.aString('a file path or ":memory:"')),
  timezone: optional(f.zone),
  shutdownGrace: optional(f.duration),
  history: v.optional(strictObject(historyObject, 'an object such as { keepDays: 30, keepRuns: 10000 }')),
  hooks: hooksSchema,
  jobs: v.array(jobSchema, wrongKind('an array of jobs')),
})
export const configSchema = strictObject(configObject, 'an object')

export type ParsedConfig = v.InferOutput<typeof configSchema>
export type ParsedJob = v.InferOutput<typeof jobSchema>

/** Known keys per object, for "did you mean" on unknown keys. */
export const KNOWN_KEYS = {
  config: Object.keys(configObject.entries),
  job: Object.keys(jobObject.entries),
  retry: Object.keys(retryObject.entries),
  history: Object.keys(historyObject.entries),
  hooks: Object.keys(hooksObject.entries),
} as const
