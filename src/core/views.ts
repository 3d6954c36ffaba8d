/**
 * The JSON shapes every `--json` prints (and an embedding app returns): instants are ISO-8601 UTC
 * strings named `…At` (`slot`, `nextRun`), durations whole ms named `…Ms`. docs/cli.md lists them.
 */
import type { ResolvedConfig, ResolvedJob, Trigger, ValueSource } from '../config/types.js'
import type { AttemptRecord, MissedInfo, RunStatus, Store } from '../store/types.js'
import { latestAttempts } from './history.js'
import type { InstanceStatus, JobSummary, StatusReport } from './inspect.js'
import type { OutputLine } from './output.js'

const iso = (ms: number) => new Date(ms).toISOString()
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms))

/** Where `durationMs` ends: the recorded finish, or the last heartbeat of a process that died. */
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
  durationUntil: DurationEnd | null
  error: { message: string } | null
  /** Why a slot was skipped, or which slots a `missed` record or `catch-up` run stands for. */
  reason: string | null
}

/**
 * The slots a `missed` record or `catch-up` run stands for, or (`paused: true`) the slots a paused
 * job's `skipped` record stands for; the stored epoch ms as ISO instants.
 */
export interface SlotsDetail {
  paused: boolean
  count: number
  first: string
  last: string
}

/** One attempt in full (`crons logs --run ID`). */
export interface AttemptDetail extends Omit<AttemptView, 'error'> {
  error: { message: string; stack: string | null } | null
  instanceId: string
  /** True while the job's code is still executing (also after a timeout was recorded). */
  active: boolean
  /** JSON text of the return value, cut at 4 KiB (so kept as text: a cut value does not parse). */
  result: string | null
  output: { at: string; level: OutputLine['level']; text: string }[]
  /** The slots the record stands for, or the skip reason as text (`still running: …`). */
  detail: SlotsDetail | string | null
  missed: { count: number; first: string; last: string } | null
}

/** `logs --run ID --json` and `Scheduler.run(id)`: the result parsed (a cut `result` stays text). */
export interface AttemptDetailJson extends Omit<AttemptDetail, 'result'> {
  result: unknown
}

export function attemptView(run: AttemptRecord): AttemptView {
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

/** A run reaped after its process died is recorded at that process's last heartbeat; the notice says so. */
function durationEnd(run: AttemptRecord): DurationEnd {
  const reaped = run.status === 'interrupted' && /heartbeat|process (is )?gone|died/i.test(run.errorMessage ?? '')
  return reaped ? 'last-heartbeat' : 'finish'
}

export function attemptDetail(run: AttemptRecord): AttemptDetail {
  const found = slotsOf(run)
  // One rule for every record standing for slots; any other detail is free text, kept as written.
  const slots: SlotsDetail | null = found && { ...found, first: iso(found.first), last: iso(found.last) }
  return {
    ...attemptView(run),
    error: run.errorMessage === null ? null : { message: run.errorMessage, stack: run.errorStack },
    instanceId: run.instanceId,
    active: run.active,
    result: run.result,
    output: outputOf(run).map((line) => ({ at: iso(line.at), level: line.level, text: line.text })),
    detail: slots ?? run.detail,
    missed: slots === null || slots.paused ? null : { count: slots.count, first: slots.first, last: slots.last },
  }
}

export function attemptDetailJson(run: AttemptDetail): AttemptDetailJson {
  return { ...run, result: parseStored(run.result) }
}

function parseStored(text: string | null): unknown {
  if (text === null) return null
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/** The slots a `missed` record or catch-up run, or (`paused`) a paused stretch's `skipped` record, stands for. */
function slotsOf(run: AttemptRecord): (MissedInfo & { paused: boolean }) | null {
  if (run.detail === null || !run.detail.startsWith('{')) return null
  try {
    const value = JSON.parse(run.detail) as Partial<MissedInfo> & { paused?: unknown }
    const { count, first, last } = value
    return typeof count === 'number' && typeof first === 'number' && typeof last === 'number'
      ? { paused: value.paused === true, count, first, last }
      : null
  } catch {
    return null
  }
}

function reasonOf(run: AttemptRecord): string | null {
  const slots = slotsOf(run)
  if (slots === null) return run.detail
  return slots.paused
    ? `paused (${slotCount(slots, 'slot')}: ${slotRange(slots)})`
    : `${slotCount(slots, 'missed slot')} (${slotRange(slots)})`
}

const slotCount = (slots: MissedInfo, noun: string) => `${slots.count} ${noun}${slots.count === 1 ? '' : 's'}`
const slotRange = (slots: MissedInfo) =>
  slots.count === 1 ? iso(slots.first) : `${iso(slots.first)} to ${iso(slots.last)}`

/** A damaged value yields no lines rather than failing the whole listing. */
function outputOf(run: AttemptRecord): OutputLine[] {
  const lines = parseStored(run.output)
  return Array.isArray(lines) ? lines.filter(isOutputLine) : []
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

/** One job as `list-jobs --json` prints it: a `JobSummary` with ISO instants. */
export interface JobView extends Omit<JobSummary, 'nextRun' | 'lastRun' | 'pausedAt'> {
  nextRun: string | null
  lastRun: AttemptView | null
  pausedAt: string | null
}

export function jobView(job: JobSummary): JobView {
  // JobSummary lists its fields in the view's order: only the instants and the last run change.
  return {
    ...job,
    nextRun: isoOrNull(job.nextRun),
    lastRun: job.lastRun && attemptView(job.lastRun),
    pausedAt: isoOrNull(job.pausedAt),
  }
}

/** Removed jobs have no tags any more, so a tag filter never shows them. */
export function withTag(jobs: JobSummary[], tag: string): JobSummary[] {
  return jobs.filter((job) => job.tags.includes(tag))
}

/** What `crons status --json` prints (the fields are `StatusReport`'s). */
export interface StatusView {
  healthy: boolean
  instances: (Omit<InstanceStatus, 'startedAt' | 'heartbeatAt' | 'stoppedAt'> & {
    startedAt: string
    heartbeatAt: string
    stoppedAt: string | null
  })[]
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
    // Field by field: a report built by hand may carry keys the view does not have.
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
    nextDue: report.nextDue && { job: report.nextDue.job, at: iso(report.nextDue.at), zone: report.nextDue.zone },
    state: report.state,
  }
}

/** A value and where it came from: flag, env, file or default. */
type Sourced<T> = { value: T; source: ValueSource }

/** One job as `crons config --json` prints it. */
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
  /** A command job's command, folder, variable names (not values: they may be secrets) and kill grace. */
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
  /** As `logs --run ID --json` gives it. */
  error: { message: string; stack: string | null } | null
}

/** What `Scheduler.runs()` selects, as `crons logs` flags do. */
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
