/**
 * The shape of `crons.config.ts`. `defineConfig` takes a `CronsConfig`; validation turns it into a
 * `ResolvedConfig` (durations in milliseconds, zones and schedules checked) that the engine consumes.
 */
import type { Schedule } from '../schedule/types.js'
import type { StateLocation } from '../store/location.js'

/** A duration: a number is seconds; a string is a number with a unit, `'500ms'`, `'90s'`, `'5m'`, `'1h'`, `'1d'`. */
export type Duration = number | string

/** What started a run. */
export type Trigger = 'schedule' | 'catch-up' | 'manual'

/** Who asked for a run: the scheduler loop, the `crons` CLI, or a library call such as `scheduler.runJob()`. */
export type Initiator = 'scheduler' | 'cli' | 'library'

export type BackoffKind = 'exponential' | 'linear' | 'constant'

export interface RetryOptions {
  /** Number of RETRIES after the first attempt (total attempts = max + 1). @default 0 */
  max?: number
  /**
   * Delay before retry k (1-based): exponential `initial·2^(k-1)`, linear `initial·k`, constant `initial`.
   * @default 'exponential'
   */
  backoff?: BackoffKind
  /** The first delay. @default 1 (second) */
  initial?: Duration
  /** No delay is longer than this. @default 300 (seconds) */
  maxDelay?: Duration
  /** Randomise each delay by up to this fraction (0–1): it becomes `delay·(1 − jitter·random)`. @default 0 */
  jitter?: number
}

export interface HistoryOptions {
  /** Attempts older than this many days are pruned. @default 30 */
  keepDays?: number
  /** At most this many attempts are kept per job (the newest). @default 10000 */
  keepRuns?: number
}

/** One line a job wrote with `ctx.log`. */
export interface JobLogger {
  info(...args: unknown[]): void
  warn(...args: unknown[]): void
  error(...args: unknown[]): void
}

/** Slots a catch-up run stands for. */
export interface MissedSlots {
  /** How many slots were missed in total. */
  count: number
  first: Date
  /** The last missed slot (the one this catch-up run is for). */
  last: Date
}

/** What a job's `run` receives. */
export interface JobContext {
  /** Aborted at the timeout, when the run is cancelled, or when the scheduler shuts down past its grace period. */
  signal: AbortSignal
  /** 1 for the first attempt, 2 for the first retry, ... */
  attempt: number
  /** The slot (scheduled instant) this run is for. For manual runs, the time it was asked for. */
  scheduledAt: Date
  trigger: Trigger
  job: { name: string; tags: readonly string[] }
  /** For `catch-up` runs: the slots that were missed. */
  missed?: MissedSlots
  /** Lines written here are kept with the attempt and printed by `start-scheduler`. */
  log: JobLogger
}

/** What a hook receives. */
export interface HookContext {
  job: { name: string; tags: readonly string[]; schedule: string; zone: string }
  scheduledAt: Date
  trigger: Trigger
  initiator: Initiator
  attempt: number
  instanceId: string
  startedAt: Date
  /** Set for `afterRun` and `onError`. */
  finishedAt?: Date
  durationMs?: number
  status?: string
  /** Set for `afterRun` and `onError`: another attempt follows this one (after its backoff). */
  willRetry?: boolean
  /** Set for `afterRun` and `onError`: the run's last attempt (an alert that fires once per failed run checks it). */
  final?: boolean
  result?: unknown
  error?: unknown
  missed?: MissedSlots
}

export interface Hooks {
  /** Before each attempt. */
  beforeRun?: (ctx: HookContext) => unknown
  /** After each attempt, whatever its outcome. */
  afterRun?: (ctx: HookContext) => unknown
  /** After each attempt that failed, timed out or was interrupted (not one that was cancelled). */
  onError?: (ctx: HookContext) => unknown
}

/** What every job has, whether its work is a function (`run`) or a command (`command`). */
export interface JobOptions {
  /** Unique name: letters, digits, `.`, `_`, `-`, `:`. */
  name: string
  /** `false` keeps the job in the file but off: never scheduled, `crons run-job` needs `--force`. @default true */
  enabled?: boolean
  /** A cron expression (5 fields, or 6 with leading seconds) or an alias such as `@daily`. Exactly one of `schedule`, `every`, `at`. */
  schedule?: string
  /** Run at a fixed interval, aligned to the Unix epoch (`'5m'` fires at :00, :05, ...). */
  every?: Duration
  /** Run once at this instant (ISO-8601 with an offset or `Z`). */
  at?: string | Date
  /** IANA time zone the schedule is read in. @default the config's `timezone` */
  tz?: string
  /** Abort the attempt's signal and record it `timed_out` after this long. @default 0 (no timeout) */
  timeout?: Duration
  /** Retries after a failed or timed-out attempt. @default no retries */
  retry?: RetryOptions
  /** What to do when a slot comes due while the job still runs (in any process). @default 'skip' */
  overlap?: 'skip' | 'allow'
  /** After downtime: `true` runs ONCE for the latest missed slot; `false` records them as missed. @default false */
  catchUp?: boolean
  /** A slot found later than this counts as missed. @default 60 (seconds) */
  misfireGrace?: Duration
  /** Delay each scheduled start by a random amount up to this, to spread load. @default 0 */
  jitter?: Duration
  /** @default [] */
  tags?: string[]
  description?: string
  /** Hooks for this job, run after the config's hooks. */
  hooks?: Hooks
}

/** A job whose work is a function. */
export interface FunctionJobDefinition extends JobOptions {
  /** The job's work. Exactly one of `run` and `command`. */
  run: (ctx: JobContext) => unknown
  command?: never
  cwd?: never
  env?: never
  killGrace?: never
}

/** A job whose work is a command: exit code 0 succeeds, anything else fails the attempt. */
export interface CommandJobDefinition extends JobOptions {
  run?: never
  /**
   * A command line run by `/bin/sh -c` (`'pg_dump mydb > db.sql'`), or an argv array run without a shell
   * (`['node', 'report.js']`). Its stdout and stderr are kept like `ctx.log` lines. Exactly one of `run` and `command`.
   */
  command: string | readonly string[]
  /** The folder the command runs in, relative to the config file's folder. @default the config file's folder */
  cwd?: string
  /** Environment variables set for the command, over those of the crons process. @default {} */
  env?: Record<string, string>
  /** At the timeout (or shutdown) the command's processes get SIGTERM, then SIGKILL after this. @default 5 (seconds) */
  killGrace?: Duration
}

export type JobDefinition = FunctionJobDefinition | CommandJobDefinition

export interface CronsConfig {
  /**
   * Where runs are recorded: a SQLite file, relative to the config file; `':memory:'`; or
   * `postgres://user:password@host:5432/database` (also `postgresql://`, `?schema=NAME`, default `crons`) to share
   * one schedule between hosts. @default './crons.db'
   */
  state?: string
  /** Default IANA zone for jobs without `tz`. @default the process's local zone */
  timezone?: string
  /** On SIGINT/SIGTERM, how long running jobs may take to finish before their signals abort. @default 30 (seconds) */
  shutdownGrace?: Duration
  /** @default { keepDays: 30, keepRuns: 10000 } */
  history?: HistoryOptions
  /** Hooks for every job. */
  hooks?: Hooks
  jobs: JobDefinition[]
}

/** Where a resolved top-level value came from. */
export type ValueSource = 'flag' | 'env' | 'file' | 'default'

export interface ResolvedRetry {
  max: number
  backoff: BackoffKind
  initialMs: number
  maxDelayMs: number
  jitter: number
}

export interface ResolvedJob {
  name: string
  /** The parsed schedule, in the job's zone. */
  schedule: Schedule
  /** The schedule as the user wrote it (`'0 3 * * *'`, `'every 5m'`, `'at 2026-01-01T00:00:00Z'`). */
  scheduleText: string
  kind: Schedule['kind']
  zone: string
  timeoutMs: number
  retry: ResolvedRetry
  overlap: 'skip' | 'allow'
  catchUp: boolean
  misfireGraceMs: number
  jitterMs: number
  tags: string[]
  description?: string
  hooks: Hooks
  /** The job's work; for a command job, made from `command` (`src/core/command.ts`). */
  run: (ctx: JobContext) => unknown
  /** Set for a command job. */
  command?: ResolvedCommand
  /** `false` for a job kept in the config but never scheduled (`enabled: false`). */
  enabled: boolean
}

export interface ResolvedCommand {
  /** As written: a shell command line (run by `/bin/sh -c`) or an argv array (run without a shell). */
  command: string | readonly string[]
  /** Absolute folder the command runs in. */
  cwd: string
  /** Variables set over the crons process's environment. */
  env: Readonly<Record<string, string>>
  killGraceMs: number
}

export interface ResolvedConfig {
  /** Absolute path of the config file, or undefined for a config given in code. */
  configPath?: string
  /** A hash of the config file and the local files it imports, if asked for (`list-jobs` and `status` compare it). */
  configHash?: string
  /** Where the state lives, parsed once from `state`, `--state` or `CRONS_STATE`. */
  state: StateLocation
  /** The state as shown to people: the state file's absolute path, `':memory:'`, or a Postgres URL, password masked. */
  statePath: string
  timezone: string
  shutdownGraceMs: number
  history: Required<HistoryOptions>
  hooks: Hooks
  /** Every job of the config in its order, disabled ones (`enabled: false`) included: check `enabled`. */
  jobs: ResolvedJob[]
  sources: { state: ValueSource; timezone: ValueSource; shutdownGrace: ValueSource; history: ValueSource }
}
