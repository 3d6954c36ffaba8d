// What a scheduler (`createScheduler(config, options)`), `add()` and a manual run can be given.
import type { Initiator, JobDefinition, ResolvedJob } from '../config/types.js'
import { CronsError } from '../errors.js'
import type { StateLocation } from '../store/location.js'
import type { Store } from '../store/types.js'
import type { Clock } from './clock.js'
import { defaultLease } from './lease.js'

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

export function resolveOptions(state: StateLocation, options: SchedulerOptions) {
  const lease = defaultLease(state)
  return {
    initiator: options.initiator ?? 'library',
    maxSleepMs: options.maxSleepMs ?? 30_000,
    heartbeatMs: options.heartbeatMs ?? lease.heartbeatMs,
    instanceTtlMs: options.instanceTtlMs ?? lease.instanceTtlMs,
    random: options.random ?? Math.random,
  }
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
