/**
 * What `list-jobs` and `status` know, from the config and the store; here so a library user gets the
 * CLI's answers. A store of `undefined` means no state file yet: nothing has run, no scheduler started.
 */
import type { ResolvedConfig, ResolvedJob } from '../config/types.js'
import type { StateLocation } from '../store/location.js'
import { type AttemptRecord, type InstanceRecord, RUN_STATUSES, type RunStatus, type Store } from '../store/types.js'
import { DEFAULT_INSTANCE_TTL_MS } from './housekeeping.js'
import { defaultLease } from './lease.js'
import { processGoneHere } from './process-identity.js'

const DAY_MS = 86_400_000

/** One job; its fields are in the order `list-jobs --json` prints them (views.ts). */
export interface JobSummary {
  name: string
  /** The job's own text from the config. */
  description: string | null
  /** As written in the config; null for a job the config no longer lists. */
  schedule: string | null
  /** The schedule in plain English; null for a job the config no longer lists. */
  scheduleInWords: string | null
  zone: string | null
  /** The first fire after now; null when the schedule never fires again, or the job is disabled or removed. */
  nextRun: number | null
  /** The latest finished attempt (skipped and missed count: they are what happened to the slot). */
  lastRun: AttemptRecord | null
  tags: string[]
  paused: boolean
  /** Since when the job is paused; null when it is not, or was paused before the state recorded it. */
  pausedAt: number | null
  /** `enabled: false` in the config: listed, never scheduled. */
  disabled: boolean
  /** In the state file but not in the config: its history is still there, nothing schedules it. */
  removed: boolean
  /** A command job's command as written (a shell line or an argv); null for a function job. */
  command: string | readonly string[] | null
  /** A live scheduler runs another version of the config than the one read: it may run this job otherwise. */
  configDiffers: boolean
}

/**
 * Configured jobs in config order, then jobs only the store knows, by name: removed ones, or with
 * `stateOnly` the state's own. `otherConfig`: the schedulers running another config, if already read.
 */
export async function jobSummaries(
  config: ResolvedConfig,
  store: Store | undefined,
  now: number,
  options: { stateOnly?: boolean; otherConfig?: readonly InstanceRecord[] } = {},
): Promise<JobSummary[]> {
  const states = store ? await store.listJobs() : []
  const lastRuns = store ? await store.lastRuns() : new Map<string, AttemptRecord>()
  const others = options.otherConfig ?? (store ? await otherConfig(config, store, now) : [])
  const configDiffers = others.length > 0
  const byName = new Map(states.map((s) => [s.name, s]))
  // A job the config no longer lists has none of the config's fields.
  const summary = (name: string, job: ResolvedJob | undefined, removed: boolean): JobSummary => {
    const state = byName.get(name)
    return {
      name,
      description: job?.description ?? null,
      schedule: job?.scheduleText ?? null,
      scheduleInWords: job?.schedule.describe() ?? null,
      zone: job?.zone ?? null,
      nextRun: job?.enabled ? job.schedule.next(now) : null,
      lastRun: lastRuns.get(name) ?? null,
      tags: job?.tags ?? [],
      paused: state?.paused ?? false,
      pausedAt: state?.paused ? state.pausedAt : null,
      disabled: job !== undefined && !job.enabled,
      removed,
      command: job?.command?.command ?? null,
      configDiffers,
    }
  }
  const summaries = config.jobs.map((job) => summary(job.name, job, false))
  // A job row is written when a config lists the job; a run row alone (an old manual run) counts too.
  const configured = new Set(config.jobs.map((j) => j.name))
  const removed = new Set([...states.map((s) => s.name), ...lastRuns.keys()].filter((n) => !configured.has(n)))
  for (const name of [...removed].sort()) summaries.push(summary(name, undefined, options.stateOnly !== true))
  return summaries
}

/** One scheduler instance; its fields are in the order `status --json` prints them (views.ts). */
export interface InstanceStatus {
  id: string
  host: string
  pid: number
  startedAt: number
  heartbeatAt: number
  heartbeatAgeMs: number
  stoppedAt: number | null
  /** Not stopped or reaped, heartbeating within the TTL, its process not gone from this host: the test peers use before reaping its runs. */
  alive: boolean
  /** The fingerprint of the config it runs (`ResolvedConfig.configHash`); null if it recorded none. */
  configHash: string | null
  /** Alive and running another version of the config than the one read; null when that cannot be told. */
  configDiffers: boolean | null
  /** Its last measured offset to the state's clock (the database server's minus the host's, ms); null if unknown. */
  clockOffsetMs: number | null
}

export interface RunningNow {
  job: string
  runId: number
  slot: number
  trigger: AttemptRecord['trigger']
  attempt: number
  startedAt: number
  /** Not `running` when still executing after its outcome was recorded (a timeout the job ignored). */
  status: RunStatus
  instance: string
  /** Where it runs, when the instance row is still there. */
  host: string | null
  pid: number | null
}

export interface StatusReport {
  /** At least one scheduler instance is alive. */
  healthy: boolean
  instances: InstanceStatus[]
  running: RunningNow[]
  /** Attempts started in the last 24 hours, every status present (zero when none). */
  last24h: { since: number; counts: Record<RunStatus, number> }
  /** The earliest next fire among configured jobs that are neither paused nor disabled, with the job's zone. */
  nextDue: { job: string; at: number; zone: string } | null
  /** `kind` as in `config.state`: a SQLite file, in memory, or a PostgreSQL database. */
  state: {
    kind: StateLocation['kind']
    path: string
    exists: boolean
    sizeBytes: number | null
    schemaVersion: number | null
  }
}

export async function statusReport(
  config: ResolvedConfig,
  store: Store | undefined,
  now: number,
  ttlMs: number = defaultLease(config.state).instanceTtlMs,
): Promise<StatusReport> {
  const since = now - DAY_MS
  const counts = Object.fromEntries(RUN_STATUSES.map((s) => [s, 0])) as Record<RunStatus, number>
  if (!store) {
    return {
      healthy: false,
      instances: [],
      running: [],
      last24h: { since, counts },
      nextDue: nextDue(config, new Set(), now),
      state: { kind: config.state.kind, path: config.statePath, exists: false, sizeBytes: null, schemaVersion: null },
    }
  }
  const all = (await store.listInstances()).map((i) => {
    const alive = isAlive(i, now, ttlMs)
    return {
      role: i.role,
      id: i.id,
      host: i.host,
      pid: i.pid,
      startedAt: i.startedAt,
      heartbeatAt: i.heartbeatAt,
      heartbeatAgeMs: Math.max(0, now - i.heartbeatAt),
      stoppedAt: i.stoppedAt,
      alive,
      configHash: i.configHash,
      configDiffers: alive ? differs(config, i) : null,
      clockOffsetMs: i.clockOffsetMs,
    }
  })
  // Runs name any instance; health is about the schedulers (run-job processes register as runners).
  const byId = new Map(all.map((i) => [i.id, i]))
  const instances = all.filter((i) => i.role === 'scheduler').map(({ role: _, ...i }) => i)
  const running = (await store.activeRuns()).map((r) => ({
    job: r.job,
    runId: r.id,
    slot: r.slot,
    trigger: r.trigger,
    attempt: r.attempt,
    startedAt: r.startedAt,
    status: r.status,
    instance: r.instanceId,
    host: byId.get(r.instanceId)?.host ?? null,
    pid: byId.get(r.instanceId)?.pid ?? null,
  }))
  Object.assign(counts, await store.countByStatus(since))
  const paused = new Set((await store.listJobs()).filter((j) => j.paused).map((j) => j.name))
  const info = await store.info()
  return {
    healthy: instances.some((i) => i.alive),
    instances,
    running,
    last24h: { since, counts },
    nextDue: nextDue(config, paused, now),
    state: {
      kind: config.state.kind,
      path: info.location,
      exists: true,
      sizeBytes: info.sizeBytes,
      schemaVersion: info.schemaVersion,
    },
  }
}

function nextDue(config: ResolvedConfig, paused: ReadonlySet<string>, now: number): StatusReport['nextDue'] {
  let best: StatusReport['nextDue'] = null
  for (const job of config.jobs) {
    if (paused.has(job.name) || !job.enabled) continue
    const at = job.schedule.next(now)
    if (at !== null && (best === null || at < best.at)) best = { job: job.name, at, zone: job.zone }
  }
  return best
}

/** The live schedulers whose config fingerprint differs from `config.configHash` (none when either has none). */
export async function otherConfig(config: ResolvedConfig, store: Store, now: number): Promise<InstanceRecord[]> {
  if (config.configHash === undefined) return []
  const ttlMs = defaultLease(config.state).instanceTtlMs
  const instances = await store.listInstances()
  return instances.filter((i) => i.role === 'scheduler' && isAlive(i, now, ttlMs) && differs(config, i) === true)
}

/**
 * Not stopped, not reaped, heartbeated within the lease and, on this host, its process still running: a
 * scheduler killed here is dead at once, as reaping judges it (process-identity.ts), not a lease later.
 */
function isAlive(instance: InstanceRecord, now: number, ttlMs: number): boolean {
  return (
    instance.stoppedAt === null &&
    instance.reapedAt === null &&
    now - instance.heartbeatAt <= ttlMs &&
    !processGoneHere(instance)
  )
}

function differs(config: ResolvedConfig, instance: InstanceRecord): boolean | null {
  if (config.configHash === undefined || instance.configHash === null) return null
  return config.configHash !== instance.configHash
}

/** The live schedulers other than `selfId`: one starting beside them is their peer, not a replacement. */
export async function livePeers(
  store: Store,
  selfId: string,
  now: number,
  ttlMs: number = DEFAULT_INSTANCE_TTL_MS,
): Promise<InstanceRecord[]> {
  const instances = await store.listInstances()
  return instances.filter((i) => i.role === 'scheduler' && i.id !== selfId && isAlive(i, now, ttlMs))
}
