import * as v from 'valibot'
import { CronsError } from '../errors.js'
import * as f from './fields.js'
import type { HookContext } from './types.js'

/**
 * The config's shape as valibot schemas (unknown keys, paths, every issue in one pass); each leaf is a
 * parser from fields.ts, so every message is ours. Rules that span fields live in validate.ts.
 * valibot rather than zod: it loads in a fraction of the time, which every command reading a config pays.
 */

function optional<T>(parse: (value: unknown) => T) {
  return v.optional(required(parse))
}

/** A field whose parser's `CronsError` message becomes the issue's message. */
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

/** The message for an object or array given as something else. */
function wrongKind(what: string) {
  return (issue: { input: unknown }) => f.expected(what, issue.input)
}

/** valibot reports an absent key as "Invalid key" without running its schema: word it as the field's parser would. */
function missingKey(entries: v.ObjectEntries) {
  return (issue: v.BaseIssue<unknown>): string => {
    const key = issue.path?.at(-1)?.key
    const schema = typeof key === 'string' ? entries[key] : undefined
    return (schema && v.safeParse(schema, undefined).issues?.[0]?.message) ?? issue.message
  }
}

/**
 * A non-array object whose fields are checked while every other key is reported, in one pass (valibot's
 * `strictObject` stops at the first; `objectWithRest` skips inherited keys and `constructor`, `__proto__`…).
 */
function strictObject<const E extends v.ObjectEntries>(what: string, entries: E) {
  const fields = v.object(entries, missingKey(entries))
  return v.pipe(v.custom<unknown>(f.isRecord, wrongKind(what)), v.intersect([fields, noOtherKeys(entries)]))
}

/**
 * One issue per key `for…in` sees that is not an entry, at the object's path (the problem is reported on
 * the object that has the key), marked `expected: 'never'`. Outputs `{}`, which the intersection merges away.
 */
function noOtherKeys(entries: v.ObjectEntries) {
  const known = Object.keys(entries)
  return v.pipe(
    v.unknown(),
    v.rawCheck<unknown>(({ dataset, addIssue }) => {
      for (const key in dataset.value as object) {
        if (Object.hasOwn(entries, key)) continue
        const hint = f.didYouMean(key, known) || ` (expected one of: ${known.join(', ')})`
        addIssue({ message: `unknown key ${JSON.stringify(key)}${hint}`, expected: 'never' })
      }
    }),
    v.transform(() => ({})),
  )
}

export function isUnknownKey(issue: v.BaseIssue<unknown>): boolean {
  return issue.type === 'raw_check' && issue.expected === 'never'
}

type Hook = (ctx: HookContext) => unknown

const hook = optional(f.aFunction<Hook>('a function'))
const hookEntries = { beforeRun: hook, afterRun: hook, onError: hook }
const hooks = v.optional(strictObject('an object with beforeRun, afterRun or onError functions', hookEntries))

const retry = strictObject('an object such as { max: 3, backoff: "exponential", initial: "1s" }', {
  max: optional(f.wholeNumber(0, 'a whole number of retries, 0 or more')),
  backoff: optional(f.oneOf(f.BACKOFF_KINDS)),
  initial: optional(f.duration),
  maxDelay: optional(f.duration),
  jitter: optional(f.fraction),
})

const history = strictObject('an object such as { keepDays: 30, keepRuns: 10000 }', {
  keepDays: optional(f.positiveNumber('a number of days greater than 0')),
  keepRuns: optional(f.wholeNumber(1, 'a whole number of runs, 1 or more')),
})

const jobEntries = {
  name: required(f.jobName),
  schedule: optional(f.aString('a cron expression such as "0 3 * * *" or "@daily"')),
  every: optional(f.interval),
  at: optional(f.instant),
  tz: optional(f.zone),
  timeout: optional(f.duration),
  retry: v.optional(retry),
  overlap: optional(f.oneOf(f.OVERLAP_MODES)),
  catchUp: optional(f.aBoolean),
  misfireGrace: optional(f.duration),
  jitter: optional(f.duration),
  tags: v.optional(v.array(required(f.aString('a non-empty string')), wrongKind('an array of strings'))),
  description: optional(f.aString('a string')),
  hooks,
  run: optional(f.runFunction),
  command: optional(f.command),
  cwd: optional(f.folder),
  env: optional(f.envVars),
  killGrace: optional(f.duration),
  enabled: optional(f.aBoolean),
}
const jobSchema = strictObject('a job object such as { name, schedule, run }', jobEntries)

const configEntries = {
  state: optional(f.aString('a file path or ":memory:"')),
  timezone: optional(f.zone),
  shutdownGrace: optional(f.duration),
  history: v.optional(history),
  hooks,
  jobs: v.array(jobSchema, wrongKind('an array of jobs')),
}
export const configSchema = strictObject('an object', configEntries)

export type ParsedConfig = v.InferOutput<typeof configSchema>
export type ParsedJob = ParsedConfig['jobs'][number]

/** The config's and a job's keys: which ones are known, and the order their problems are listed in. */
export const KNOWN_KEYS = {
  config: Object.keys(configEntries),
  job: Object.keys(jobEntries),
} as const
