// What a scheduler (`createScheduler(config, options)`), `add()` and a manual run can be given.
import * as f from '../config/fields.js'
import type { Initiator, JobDefinition, ResolvedJob } from '../config/types.js'
import { CronsError, isCronsError } from '../errors.js'
import type { StateLocation } from '../store/location.js'
import type { Store } from '../store/types.js'
import type { Clock } from './clock.js'
import { defaultLease, leaseTooShort, MIN_PERIOD_MS } from './lease.js'

/** Opens the store a config's `state` names; the CLI and `createScheduler` pass the store registry. */
export type OpenStore = (state: StateLocation) => Promise<Store>

export interface SchedulerOptions {
  clock?: Clock
  /** A store to use instead of opening `config.state` (the caller then owns closing it). */
  store?: Store
  /** How to open the store when `store` is not given. @default the built-in stores */
  openStore?: OpenStore
  instanceId?: string
  /** Who starts manual runs through `runJob` (the CLI says 'cli'). @default 'library' */
  initiator?: Initiator
  /** @default 30_000 */
  maxSleepMs?: number
  /** How often the instance renews its lease. @default 10_000 for a state file, 2_000 on Postgres */
  heartbeatMs?: number
  /** An instance whose heartbeat is older than this is dead. @default 30_000 for a state file, 10_000 on Postgres */
  instanceTtlMs?: number
  random?: () => number
  /** Claim slots this long before they are due and start them on the instant. @default adaptive, at most 250 ms */
  claimLeadMs?: number
  /** Block the event loop for the last milliseconds (at most 16 ms in 80) to start on the instant. @default false */
  preciseStart?: boolean
  /** A job's `console.log` output, kept with its attempt, also reaches the process's console. @default true */
  echoConsole?: boolean
}

export interface RunJobOptions {
  /** Run even when the job is running somewhere. */
  force?: boolean
  /** Overrides the job's timeout, in milliseconds. */
  timeoutMs?: number
}

export type ResolvedOptions = ReturnType<typeof resolveOptions>

/** A number of milliseconds, finite and at least `min`. */
function milliseconds(min: number): (value: unknown) => number {
  const what = `a number of milliseconds of at least ${min}`
  return (value) =>
    typeof value === 'number' && value >= min && value < Infinity ? value : f.problem(f.expected(what, value))
}

function anObject(what: string): (value: unknown) => unknown {
  return (value) => (typeof value === 'object' && value !== null ? value : f.problem(f.expected(what, value)))
}

/** Every option, with what it must be when given (`undefined` is "not given"). */
const OPTION_CHECKS: { [K in keyof Required<SchedulerOptions>]: (value: unknown) => unknown } = {
  clock: anObject('a Clock'),
  store: anObject('a Store'),
  openStore: f.aFunction('a function'),
  instanceId: f.aString('a non-empty string'),
  initiator: f.oneOf<Initiator>(['scheduler', 'cli', 'library']),
  maxSleepMs: milliseconds(MIN_PERIOD_MS),
  heartbeatMs: milliseconds(MIN_PERIOD_MS),
  instanceTtlMs: milliseconds(MIN_PERIOD_MS),
  random: f.aFunction('a function'),
  claimLeadMs: milliseconds(0),
  preciseStart: f.aBoolean,
  echoConsole: f.aBoolean,
}
const OPTION_KEYS = Object.keys(OPTION_CHECKS)

/** The options over their defaults; every problem (a value out of range, an unknown key) in one `CONFIG_INVALID`. */
export function resolveOptions(state: StateLocation, options: SchedulerOptions) {
  checkOptions(options)
  const lease = defaultLease(state)
  const resolved = {
    initiator: options.initiator ?? 'library',
    maxSleepMs: options.maxSleepMs ?? 30_000,
    heartbeatMs: options.heartbeatMs ?? lease.heartbeatMs,
    instanceTtlMs: options.instanceTtlMs ?? lease.instanceTtlMs,
    random: options.random ?? Math.random,
  }
  // Given or defaulted: a heartbeat given alone can outgrow the default lease.
  const short = leaseTooShort(resolved)
  if (short !== undefined) {
    const given = options.instanceTtlMs === undefined ? ' (the default)' : ''
    fail([`instanceTtlMs: ${resolved.instanceTtlMs}${given} ${short}`])
  }
  return resolved
}

function checkOptions(options: SchedulerOptions): void {
  if (!f.isRecord(options)) fail([f.expected('an object of options', options)])
  const problems: string[] = []
  for (const [key, check] of Object.entries(OPTION_CHECKS)) {
    const value = (options as Record<string, unknown>)[key]
    if (value === undefined) continue
    try {
      check(value)
    } catch (error) {
      if (!isCronsError(error)) throw error
      problems.push(`${key}: ${error.message}`)
    }
  }
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(OPTION_CHECKS, key)) continue
    const hint = f.didYouMean(key, OPTION_KEYS) || ` (expected one of: ${OPTION_KEYS.join(', ')})`
    problems.push(`unknown key ${JSON.stringify(key)}${hint}`)
  }
  if (problems.length > 0) fail(problems)
}

/** As a config's problems are reported: the count in the message, one line each in `details`. */
function fail(problems: string[]): never {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`
  throw new CronsError('CONFIG_INVALID', `${count} in the scheduler options`, {
    details: problems.map((problem) => `scheduler options: ${problem}`),
  })
}

/** One already resolved is taken as it is; a definition is validated as a config's jobs are (loaded only then). */
export async function resolveAddedJob(job: JobDefinition | ResolvedJob, timezone: string): Promise<ResolvedJob> {
  if (typeof job !== 'object' || job === null) {
    const got = job === null ? 'null' : typeof job
    throw new CronsError('CONFIG_INVALID', `add() takes a job definition object, got ${got}`)
  }
  if (typeof job.schedule === 'object' && 'kind' in job) return job
  const { validateConfig } = await import('../config/validate.js')
  const config = validateConfig({ timezone, jobs: [job] }, { file: 'scheduler.add()', configDir: process.cwd() })
  return config.jobs[0] as ResolvedJob
}
