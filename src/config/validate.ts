import { dirname, resolve as resolvePath } from 'node:path'
import { type BaseIssue, safeParse } from 'valibot'
import { commandRun } from '../core/command.js'
import { CronsError, didYouMean } from '../errors.js'
import { atSchedule, everySchedule, localZone, parseCron } from '../schedule/index.js'
import type { Schedule } from '../schedule/types.js'
import { describeLocation, parseStateLocation, type StateLocation, StateLocationError } from '../store/location.js'
import { DEFAULTS } from './defaults.js'
import { EXPECTED_EXPORT } from './define.js'
import { formatDuration } from './duration.js'
import * as f from './fields.js'
import { configSchema, isUnknownKey, KNOWN_KEYS, type ParsedConfig, type ParsedJob } from './schema.js'
import type { ResolvedCommand, ResolvedConfig, ResolvedJob, ValueSource } from './types.js'

// From what the user exported to what the engine runs: every problem reported in one error (no re-run
// per typo), then defaults filled in and each schedule parsed once, in its zone.

export interface ValidateOptions {
  /** How the config is named in messages, e.g. `crons.config.ts`. @default 'config' */
  file?: string
  /** Absolute. */
  configPath?: string
  /** The file's `state` (and the default state file) are relative to this. @default dirname(configPath), else cwd */
  configDir?: string
  /** Flag and env values are relative to this. @default process.cwd() */
  cwd?: string
  /** Values that beat the file (flag > env > file > default). */
  overrides?: { state?: { value: string; source: 'flag' | 'env' } }
  /** What a config of the wrong shape should have been. @default a file's `export default defineConfig(…)` */
  expected?: string
}

type Path = ReadonlyArray<PropertyKey>

interface Problem {
  path: Path
  message: string
  /** An unknown key of the object at `path`; listed after the object's field problems. */
  unknownKey?: boolean
}

const SCHEDULE_KINDS = ['schedule', 'every', 'at'] as const
const WORK_KINDS = ['run', 'command'] as const
const COMMAND_FIELDS = ['cwd', 'env', 'killGrace'] as const

/** Validate and resolve a config value (what a config file exports, or an object built in code). */
export function validateConfig(raw: unknown, options: ValidateOptions = {}): ResolvedConfig {
  const file = options.file ?? 'config'
  checkExportShape(raw, file, options.expected ?? EXPECTED_EXPORT)
  const rawJobs = raw.jobs
  const problems: Problem[] = []
  // Explicit, against a global valibot config that would stop at the first issue.
  const parsed = safeParse(configSchema, raw, { abortEarly: false, abortPipeEarly: false })
  if (!parsed.success) problems.push(...issuesToProblems(parsed.issues))
  const schedules = checkJobs(rawJobs, (raw as { timezone?: unknown }).timezone, problems)
  const dirs = baseDirs(options)
  const fileState = checkState((raw as { state?: unknown }).state, dirs.configDir, problems)
  if (problems.length > 0 || !parsed.success) {
    const lines = sortProblems(problems).map((p) => formatProblem(file, p, rawJobs))
    const count = lines.length === 1 ? '1 problem' : `${lines.length} problems`
    throw new CronsError('CONFIG_INVALID', `${file}: ${count} in the config`, { details: lines })
  }
  return resolve(parsed.output, schedules, fileState, { ...options, ...dirs })
}

/** What the file's `state` and `cwd` are relative to, and what flag and env values are. */
function baseDirs(options: ValidateOptions): { cwd: string; configDir: string } {
  const cwd = options.cwd ?? process.cwd()
  return { cwd, configDir: options.configDir ?? (options.configPath ? dirname(options.configPath) : cwd) }
}

/** The file's `state` as a location, or the state parser's problem with it at `state` (the schema words a non-string). */
function checkState(state: unknown, configDir: string, problems: Problem[]): StateLocation | undefined {
  if (typeof state !== 'string' || state.trim() === '') return undefined
  try {
    return parseStateLocation(state, configDir)
  } catch (error) {
    if (!(error instanceof StateLocationError)) throw error
    problems.push({ path: ['state'], message: error.message })
    return undefined
  }
}

/** Not an object, or no `jobs` array: almost always the wrong file or a missing `export default`. */
function checkExportShape(raw: unknown, file: string, expected: string): asserts raw is { jobs: unknown[] } {
  function fail(found: string): never {
    throw new CronsError('CONFIG_EXPORT', `${file}: ${found}; expected ${expected}`)
  }
  if (!f.isRecord(raw) || raw instanceof Date) {
    fail(`the config is ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : f.show(raw)}, not an object`)
  }
  if (raw.jobs === undefined) {
    const keys = Object.keys(raw)
    const near = keys.find((key) => f.didYouMean(key, ['jobs']) !== '')
    const found = near ? `found ${JSON.stringify(near)} — ${didYouMean('jobs')}` : `keys: ${keys.join(', ') || 'none'}`
    fail(`the config has no "jobs" array (${found})`)
  }
  if (!Array.isArray(raw.jobs)) fail(`"jobs" is ${f.show(raw.jobs)}, not an array`)
}

function issuesToProblems(issues: ReadonlyArray<BaseIssue<unknown>>): Problem[] {
  return issues.map((issue) => ({
    path: (issue.path ?? []).map((item) => item.key as PropertyKey),
    message: issue.message,
    unknownKey: isUnknownKey(issue),
  }))
}

/** The rules that span fields. They read the raw jobs, so they still report when another field of the job is wrong. */
function checkJobs(rawJobs: unknown[], rawTimezone: unknown, problems: Problem[]): Map<number, Schedule> {
  const schedules = new Map<number, Schedule>()
  const firstIndexByName = new Map<string, number>()
  const configZone = rawTimezone === undefined ? attempt(localZone) : attempt(() => f.zone(rawTimezone))
  const add = (index: number, field: string | undefined, message: string) =>
    problems.push({ path: field === undefined ? ['jobs', index] : ['jobs', index, field], message })
  rawJobs.forEach((job, index) => {
    if (!f.isRecord(job)) return
    const name = attempt(() => f.jobName(job.name))
    if (name.ok) {
      const first = firstIndexByName.get(name.value)
      const quoted = JSON.stringify(name.value)
      if (first === undefined) firstIndexByName.set(name.value, index)
      else add(index, 'name', `duplicate job name ${quoted} (already used by jobs[${first}]; names must be unique)`)
    }
    const kinds = SCHEDULE_KINDS.filter((kind) => job[kind] !== undefined)
    if (kinds.length > 1 || (kinds.length === 0 && !misspelt(job, SCHEDULE_KINDS))) {
      add(index, undefined, scheduleCountProblem(kinds))
    }
    checkWork(job, (field, message) => add(index, field, message))
    const zone = job.tz === undefined ? configZone : attempt(() => f.zone(job.tz))
    for (const kind of kinds) {
      const built = attempt(() => buildSchedule(kind, job[kind], zone.ok ? zone.value : 'UTC'))
      if (!built.ok && built.error !== undefined) add(index, kind, built.error)
      if (built.ok && zone.ok && kinds.length === 1) schedules.set(index, built.value)
    }
  })
  return schedules
}

/** Exactly one of `run` and `command`; a command's own fields only with a command. */
function checkWork(job: Record<string, unknown>, add: (field: string | undefined, message: string) => void): void {
  const kinds = WORK_KINDS.filter((kind) => job[kind] !== undefined)
  const expected = 'expected exactly one of "run" (a function) or "command" (a command line or an argv array)'
  if (kinds.length === 2) add(undefined, `both "run" and "command" are set (${expected})`)
  else if (kinds.length === 0 && !misspelt(job, WORK_KINDS)) add(undefined, `no "run" or "command" (${expected})`)
  if (job.command !== undefined) return
  for (const field of COMMAND_FIELDS) {
    if (job[field] !== undefined) add(field, `only a command job takes "${field}" (this job has no "command")`)
  }
}

/** A misspelt `shedule` is already reported as an unknown key with "did you mean": "no schedule" would repeat it. */
function misspelt(job: Record<string, unknown>, kinds: readonly string[]): boolean {
  return Object.keys(job).some((key) => !KNOWN_KEYS.job.includes(key) && f.didYouMean(key, kinds) !== '')
}

function scheduleCountProblem(kinds: readonly string[]): string {
  const found =
    kinds.length === 0
      ? 'no schedule'
      : kinds.length === 2
        ? `both ${JSON.stringify(kinds[0])} and ${JSON.stringify(kinds[1])} are set`
        : '"schedule", "every" and "at" are all set'
  return `${found} (expected exactly one of "schedule" (a cron expression), "every" (an interval) or "at" (an instant))`
}

type Attempt<T> = { ok: true; value: T } | { ok: false; error?: string }

/** Run a parser; keep its message unless it is a field parser's (`CONFIG_INVALID`), which the schema pass reports. */
function attempt<T>(parse: () => T): Attempt<T> {
  try {
    return { ok: true, value: parse() }
  } catch (error) {
    if (!(error instanceof CronsError)) throw error
    return { ok: false, ...(error.code === 'CONFIG_INVALID' ? {} : { error: error.message }) }
  }
}

/** The job's schedule in its zone (`UTC` for an unknown zone, so a broken cron is still reported alongside). */
function buildSchedule(kind: (typeof SCHEDULE_KINDS)[number], value: unknown, zone: string): Schedule {
  if (kind === 'schedule') return parseCron(f.aString('a cron expression')(value).trim(), zone)
  if (kind === 'every') {
    const ms = f.interval(value)
    // As written ('every 90s'), unless it was bare seconds (90 or '90'), which would read ambiguously.
    const asWritten = typeof value === 'string' && !/^[\d.\s]+$/.test(value)
    return everySchedule(ms, zone, `every ${asWritten ? value.trim() : formatDuration(ms)}`)
  }
  return atSchedule(f.instant(value), zone)
}

function sortProblems(problems: Problem[]): Problem[] {
  const jobIndex = (p: Problem) => (p.path[0] === 'jobs' && typeof p.path[1] === 'number' ? p.path[1] : -1)
  const fieldRank = (p: Problem) => {
    const inJob = jobIndex(p) >= 0
    const field = p.path[inJob ? 2 : 0]
    const keys: readonly string[] = inJob ? KNOWN_KEYS.job : KNOWN_KEYS.config
    if (p.unknownKey && p.path.length === (inJob ? 2 : 0)) return keys.length
    // A whole-job problem (no schedule, two schedules) sits where "schedule" would.
    return typeof field === 'string' ? keys.indexOf(field) : keys.indexOf('schedule')
  }
  // A stable sort: problems of one field keep the order they were found in.
  return problems.sort((a, b) => jobIndex(a) - jobIndex(b) || fieldRank(a) - fieldRank(b))
}

/** `retry.max`, `tags[1]`. */
function formatPath(path: Path): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`))
    .join('')
}

/** `crons.config.ts: job "backup" (jobs[0]) retry.max: expected …`: name AND index (names can repeat or be wrong). */
function formatProblem(file: string, problem: Problem, rawJobs: unknown[]): string {
  let where = formatPath(problem.path)
  const [head, index] = problem.path
  if (head === 'jobs' && typeof index === 'number') {
    const job = rawJobs[index]
    const name = f.isRecord(job) && typeof job.name === 'string' && job.name.trim() !== '' ? job.name : undefined
    const label = name === undefined ? `jobs[${index}]` : `job ${JSON.stringify(name)} (jobs[${index}])`
    const rest = formatPath(problem.path.slice(2))
    where = rest === '' ? label : `${label} ${rest}`
  }
  return where === '' ? `${file}: ${problem.message}` : `${file}: ${where}: ${problem.message}`
}

/** A flag's or env var's `state` (relative to the cwd) or the default (relative to the config's folder) as a location. */
function stateFrom(base: string, state: string, where: string): StateLocation {
  try {
    return parseStateLocation(state, base)
  } catch (error) {
    if (!(error instanceof StateLocationError)) throw error
    throw new CronsError('STATE_INVALID', `${where}: ${error.message}`)
  }
}

const OVERRIDE_NAMES = { flag: '--state', env: 'CRONS_STATE' } as const

function resolve(
  config: ParsedConfig,
  schedules: Map<number, Schedule>,
  fileState: StateLocation | undefined,
  options: ValidateOptions & { cwd: string; configDir: string },
): ResolvedConfig {
  const { cwd, configDir } = options
  const override = options.overrides?.state
  const [state, stateSource]: [StateLocation, ValueSource] = override
    ? [stateFrom(cwd, override.value, OVERRIDE_NAMES[override.source]), override.source]
    : fileState !== undefined
      ? [fileState, 'file']
      : [stateFrom(configDir, DEFAULTS.state, 'state'), 'default']
  const timezone = config.timezone ?? localZone()
  const resolved: ResolvedConfig = {
    state,
    statePath: describeLocation(state),
    timezone,
    shutdownGraceMs: config.shutdownGrace ?? DEFAULTS.shutdownGraceMs,
    history: { ...DEFAULTS.history, ...definedOnly(config.history ?? {}) },
    hooks: definedOnly(config.hooks ?? {}),
    jobs: config.jobs.map((job, index) => resolveJob(job, schedules.get(index) as Schedule, timezone, configDir)),
    sources: {
      state: stateSource,
      timezone: config.timezone === undefined ? 'default' : 'file',
      shutdownGrace: config.shutdownGrace === undefined ? 'default' : 'file',
      history: config.history === undefined ? 'default' : 'file',
    },
  }
  if (options.configPath !== undefined) resolved.configPath = options.configPath
  return resolved
}

function resolveJob(job: ParsedJob, schedule: Schedule, configZone: string, configDir: string): ResolvedJob {
  const d = DEFAULTS.job
  const retry = job.retry
  const command: ResolvedCommand | undefined =
    job.command === undefined
      ? undefined
      : {
          command: job.command,
          cwd: resolvePath(configDir, job.cwd ?? '.'),
          env: job.env ?? {},
          killGraceMs: job.killGrace ?? d.killGraceMs,
        }
  const resolved: ResolvedJob = {
    name: job.name,
    schedule,
    scheduleText: schedule.text,
    kind: schedule.kind,
    zone: job.tz ?? configZone,
    timeoutMs: job.timeout ?? d.timeoutMs,
    retry: {
      max: retry?.max ?? d.retry.max,
      backoff: retry?.backoff ?? d.retry.backoff,
      initialMs: retry?.initial ?? d.retry.initialMs,
      maxDelayMs: retry?.maxDelay ?? d.retry.maxDelayMs,
      jitter: retry?.jitter ?? d.retry.jitter,
    },
    overlap: job.overlap ?? d.overlap,
    catchUp: job.catchUp ?? d.catchUp,
    misfireGraceMs: job.misfireGrace ?? d.misfireGraceMs,
    jitterMs: job.jitter ?? d.jitterMs,
    tags: [...(job.tags ?? d.tags)],
    hooks: definedOnly(job.hooks ?? {}),
    run: command ? commandRun(command) : (job.run as ResolvedJob['run']),
    enabled: job.enabled ?? d.enabled,
  }
  if (command) resolved.command = command
  if (job.description !== undefined) resolved.description = job.description
  return resolved
}

/** Drop keys whose value is undefined, so `{ ...DEFAULTS, ...user }` cannot overwrite a default with nothing. */
function definedOnly<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never
}
