/**
 * The JSON shapes of jobs, runs, status and config: what every `--json` prints, and what an HTTP
 * server or an app embedding the engine returns. One vocabulary for all of them, so a field means
 * the same wherever it appears:
 *
 * - instants are ISO-8601 UTC strings (`2026-01-15T10:00:00.000Z`), named `…At`, or `slot` for a
 *   scheduled instant and `nextRun` for the next one;
 * - durations are whole milliseconds named `…Ms`;
 * - a job's `description` is the job's own text from the config, and `scheduleInWords` is its
 *   schedule in plain English;
 * - a run is one attempt (or one skipped or missed record) with its `id`; other objects refer to it
 *   as `runId`, and to a process as `instanceId`.
 *
 * No terminal concerns here: the CLI renders these shapes, and docs/cli.md lists them.
 */
import type { ResolvedConfig, ResolvedJob, Trigger, ValueSource } from '../config/types.js'
import type { MissedInfo, RunRecord, RunStatus, Store } from '../store/types.js'
import { latestAttempts } from './history.js'
import type { JobSummary, StatusReport } from './inspect.js'
import type { OutputLine } from './output.js'

const iso = (ms: number) => new Date(ms).toISOString()
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms))

/**
 * Where a run's `durationMs` ends: at its recorded finish, or, for a run whose process died, at that
 * process's last heartbeat (the run lasted at least that long; when it really stopped is unknown).
 */
export type DurationEnd = 'finish' | 'last-heartbeat'

/** One attempt in a list (`crons logs --json`, a job's `lastRun`). */
export interface AttemptView {
  id: number
  job: string
  slot: string
  trigger: Trigger
  attempt: number
  status: RunStatus
  startedAt: string
  finishedAt: string | null
  /** finishedAt − startedAt; null while running. */
  durationMs: number | null
  /** What `durationMs` runs up to; null when there is no duration yet. */
  durationUntil: DurationEnd | null
  error: { message: string } | null
  /** Why a slot was skipped, or which slots a `missed` record or `catch-up` run stands for. */
  reason: string | null
}

/** One attempt in full, as the CLI renders it (`crons logs --run ID`). */
export interface AttemptDetail extends Omit<AttemptView, 'error'> {
  error: { message: string; stack: string | null } | null
  instanceId: string
  /** True while the job's code is still executing (also after a timeout was recorded). */
  active: boolean
  /** JSON text of the job's return value, cut at 4 KiB: kept as text because a cut value does not parse. */
  result: string | null
  /** What the job wrote with ctx.log, in order (bounded, see core/output.ts). */
  output: { at: string; level: OutputLine['level']; text: string }[]
  /** The stored detail text, unparsed: the skip reason or the missed-slots JSON. */
  detail: string | null
  missed: { count: number; first: string; last: string } | null
}

/** One attempt in full as `logs --run ID --json` prints it: stored JSON text parsed, not double-encoded. */
export interface AttemptDetailJson extends Omit<AttemptDetail, 'result' | 'detail'> {
  /** The job's return value; still its JSON text if it was cut at 4 KiB (a cut value does not parse). */
  result: unknown
  /** The skip reason as text, or the missed-slots record as an object (also given, with ISO instants, as `missed`). */
  detail: unknown
}

export function attemptView(run: RunRecord): AttemptView {
  return {
    id: run.id,
    job: run.job,
    slot: iso(run.slot),
    trigger: run.trigger,
    attempt: run.attempt,
    status: run.status,
    startedAt: iso(run.startedAt),
    finishedAt: isoOrNull(run.finishedAt),
    durationMs: run.durationMs,
    durationUntil: run.durationMs === null ? null : durationEnd(run),
    error: run.errorMessage === null ? null : { message: run.errorMessage },
    reason: reasonOf(run),
  }
}

/**
 * A run found `running` after its process died is recorded `interrupted` at that process's last
 * heartbeat, by whichever process noticed. The notice names the dead process; an interruption its own
 * process recorded (a shutdown) ends when it was recorded.
 */
function durationEnd(run: RunRecord): DurationEnd {
  const reaped = run.status === 'interrupted' && /heartbeat|process (is )?gone|died/i.test(run.errorMessage ?? '')
  return reaped ? 'last-heartbeat' : 'finish'
}

export function attemptDetail(run: RunRecord): AttemptDetail {
  const missed = missedOf(run)
  return {
    ...attemptView(run),
    error: run.errorMessage === null ? null : { message: run.errorMessage, stack: run.errorStack },
    instanceId: run.instanceId,
    active: run.active,
    result: run.result,
    output: outputOf(run).map((line) => ({ at: iso(line.at), level: line.level, text: line.text })),
    detail: run.detail,
    missed: missed === null ? null : { count: missed.count, first: iso(missed.first), last: iso(missed.last) },
  }
}

export function attemptDetailJson(run: AttemptDetail): AttemptDetailJson {
  return {
    ...run,
    result: parseStored(run.result),
    // A skip reason is free text ("paused" must not become anything else); only a missed record (the
    // view has recognised it as `missed`) is JSON.
    detail: run.missed === null ? run.detail : parseStored(run.detail),
  }
}

/** Stored JSON text as its value; text that does not parse (a value cut at 4 KiB) stays text. */
function parseStored(text: string | null): unknown {
  if (text === null) return null
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/** `detail` holds missed-slot JSON for `missed` rows and catch-up runs, and plain text for skips. */
function missedOf(run: RunRecord): MissedInfo | null {
  return slotsOf(run, false)
}

/** The slots a `missed` record, or (`paused`) a paused stretch's `skipped` record, stands for. */
function slotsOf(run: RunRecord, paused: boolean): MissedInfo | null {
  if (run.detail === null || !run.detail.startsWith('{')) return null
  try {
    const value = JSON.parse(run.detail) as Partial<MissedInfo> & { paused?: unknown }
    if ((value.paused === true) !== paused) return null
    const { count, first, last } = value
    return typeof count === 'number' && typeof first === 'number' && typeof last === 'number'
      ? { count, first, last }
      : null
  } catch {
    return null
  }
}

function reasonOf(run: RunRecord): string | null {
  const paused = slotsOf(run, true)
  if (paused !== null) {
    return paused.count === 1
      ? `paused (1 slot: ${iso(paused.first)})`
      : `paused (${paused.count} slots: ${iso(paused.first)} to ${iso(paused.last)})`
  }
  const missed = missedOf(run)
  if (missed !== null) {
    return missed.count === 1
      ? `1 missed slot (${iso(missed.first)})`
      : `${missed.count} missed slots (${iso(missed.first)} to ${iso(missed.last)})`
  }
  return run.detail
}

/** The captured lines; a damaged value yields none rather than failing the whole listing. */
function outputOf(run: RunRecord): OutputLine[] {
  if (run.output === null) return []
  try {
    const lines: unknown = JSON.parse(run.output)
    return Array.isArray(lines) ? lines.filter(isOutputLine) : []
  } catch {
    return []
  }
}

function isOutputLine(value: unknown): value is OutputLine {
  const line = value as Partial<OutputLine> | null
  return (
    typeof line === 'object' &&
    line !== null &&
    typeof line.at === 'number' &&
    typeof line.text === 'string' &&
    (line.level === 'info' || line.level === 'warn' || line.level === 'error')
  )
}

/** One job as `list-jobs --json` prints it. */
export interface JobView {
  name: string
  /** The job's own text from the config; null when it has none (or the config does not list it). */
  description: string | null
  /** As written in the config; null for a job only the state file knows. */
  schedule: string | null
  scheduleInWords: string | null
  zone: string | null
  nextRun: string | null
  /** The latest finished attempt, in the shape `logs --json` prints. */
  lastRun: AttemptView | null
  tags: string[]
  paused: boolean
  /** Since when the job is paused; null when it is not (or was paused before the state recorded it). */
  pausedAt: string | null
  /** `enabled: false` in the config: listed, never scheduled (`nextRun` is null). */
  disabled: boolean
  /** In the state file but not in the config: its history is still there, nothing schedules it. */
  removed: boolean
  /** A command job's command as written (a shell line or an argv); null for a function job. */
  command: string | readonly string[] | null
  /** A live scheduler runs another version of the config than the file read: it may run this job otherwise. */
  configDiffers: boolean
}

export function jobView(job: JobSummary): JobView {
  return {
    name: job.name,
    description: job.description,
    schedule: job.schedule,
    scheduleInWords: job.scheduleInWords,
    zone: job.zone,
    nextRun: isoOrNull(job.nextRun),
    lastRun: job.lastRun && attemptView(job.lastRun),
    tags: job.tags,
    paused: job.paused,
    pausedAt: isoOrNull(job.pausedAt),
    disabled: job.disabled,
    removed: job.removed,
    command: job.command,
    configDiffers: job.configDiffers,
  }
}

/** Removed jobs have no tags any more, so a tag filter never shows them. */
export function withTag(jobs: JobSummary[], tag: string): JobSummary[] {
  return jobs.filter((job) => job.tags.includes(tag))
}

/** What `crons status --json` prints. */
export interface StatusView {
  healthy: boolean
  /** Schedulers sharing the state file, alive or not; each slot runs once among the alive ones. */
  instances: {
    id: string
    host: string
    pid: number
    startedAt: string
    heartbeatAt: string
    heartbeatAgeMs: number
    stoppedAt: string | null
    alive: boolean
    configHash: string | null
    configDiffers: boolean | null
    /** The database server's clock minus the instance's host clock, in ms, as last measured; null if unknown. */
    clockOffsetMs: number | null
  }[]
  running: (Pick<AttemptView, 'id' | 'job' | 'slot' | 'trigger' | 'attempt' | 'status' | 'startedAt'> & {
    instanceId: string
    host: string | null
    pid: number | null
  })[]
  last24h: { since: string; counts: Record<RunStatus, number> }
  nextDue: { job: string; at: string; zone: string } | null
  state: StatusReport['state']
}

export function statusView(report: StatusReport): StatusView {
  return {
    healthy: report.healthy,
    instances: report.instances.map((i) => ({
      id: i.id,
      host: i.host,
      pid: i.pid,
      startedAt: iso(i.startedAt),
      heartbeatAt: iso(i.heartbeatAt),
      heartbeatAgeMs: i.heartbeatAgeMs,
      stoppedAt: isoOrNull(i.stoppedAt),
      alive: i.alive,
      configHash: i.configHash,
      configDiffers: i.configDiffers,
      clockOffsetMs: i.clockOffsetMs,
    })),
    running: report.running.map((r) => ({
      id: r.runId,
      job: r.job,
      slot: iso(r.slot),
      trigger: r.trigger,
      attempt: r.attempt,
      status: r.status,
      startedAt: iso(r.startedAt),
      instanceId: r.instance,
      host: r.host,
      pid: r.pid,
    })),
    last24h: { since: iso(report.last24h.since), counts: report.last24h.counts },
    nextDue: report.nextDue && { ...report.nextDue, at: iso(report.nextDue.at) },
    state: report.state,
  }
}

interface Sourced<T> {
  value: T
  /** Where the value came from: flag, env, file or default. */
  source: ValueSource
}

/** One job as `crons config --json` prints it: a `JobView`'s fields that the config decides, and the rest of its settings. */
export interface JobConfigView {
  name: string
  description: string | null
  kind: ResolvedJob['kind']
  schedule: string
  scheduleInWords: string
  zone: string
  nextRun: string | null
  timeoutMs: number
  retry: ResolvedJob['retry']
  overlap: ResolvedJob['overlap']
  catchUp: boolean
  misfireGraceMs: number
  jitterMs: number
  tags: string[]
  /** `enabled: false`: kept in the config, never scheduled (`nextRun` is null). */
  disabled: boolean
  /**
   * A command job's command as written, its folder, the names of the variables it sets (not their
   * values: they may be secrets) and its SIGTERM-to-SIGKILL grace; null for a function job.
   */
  command: { command: string | readonly string[]; cwd: string; env: string[]; killGraceMs: number } | null
}

/** What `crons config --json` prints. */
export interface ConfigView {
  configPath: string | null
  state: Sourced<string>
  timezone: Sourced<string>
  shutdownGraceMs: Sourced<number>
  history: Sourced<ResolvedConfig['history']>
  jobs: JobConfigView[]
}

export function configView(config: ResolvedConfig, now: number): ConfigView {
  return {
    configPath: config.configPath ?? null,
    state: { value: config.statePath, source: config.sources.state },
    timezone: { value: config.timezone, source: config.sources.timezone },
    shutdownGraceMs: { value: config.shutdownGraceMs, source: config.sources.shutdownGrace },
    history: { value: config.history, source: config.sources.history },
    jobs: config.jobs.map((job) => ({
      name: job.name,
      description: job.description ?? null,
      kind: job.kind,
      schedule: job.scheduleText,
      scheduleInWords: job.schedule.describe(),
      zone: job.zone,
      nextRun: job.enabled ? isoOrNull(job.schedule.next(now)) : null,
      timeoutMs: job.timeoutMs,
      retry: job.retry,
      overlap: job.overlap,
      catchUp: job.catchUp,
      misfireGraceMs: job.misfireGraceMs,
      jitterMs: job.jitterMs,
      tags: job.tags,
      disabled: !job.enabled,
      command: job.command ? { ...job.command, env: Object.keys(job.command.env) } : null,
    })),
  }
}

/** What `crons run-job --json` prints: the run's last attempt. */
export interface RunJobView {
  job: string
  runId: number
  status: RunStatus
  attempts: number
  /** The last attempt's finishedAt − startedAt, as `logs` shows it. */
  durationMs: number
  error: { message: string; stack?: string } | null
}

/** What `Scheduler.runs()` selects, as `crons logs` flags do (`since` as a Date). */
export interface AttemptFilter {
  job?: string
  status?: RunStatus
  since?: Date
  /** @default 50 */
  limit?: number
}

/** The latest attempts `filter` selects, newest last, in the shape of `crons logs --json`. */
export async function attemptViews(store: Store, filter: AttemptFilter = {}): Promise<AttemptView[]> {
  const { job, status, since, limit = 50 } = filter
  const selected = {
    ...(job ? { job } : {}),
    ...(status ? { status } : {}),
    ...(since ? { since: since.getTime() } : {}),
  }
  return (await latestAttempts(store, selected, limit)).map(attemptView)
}
