import { BaseCommand } from '../cli/base.js'
import { configDriftNotice } from '../cli/config-drift.js'
import { wideFlag } from '../cli/flags.js'
import {
  formatBytes,
  formatDuration,
  formatLocal,
  type Painter,
  paint,
  preparePaint,
  relative,
  renderTable,
} from '../cli/output.js'
import { SKEW_WARN_MS } from '../core/clock-sync.js'
import { type StatusReport, statusReport } from '../core/inspect.js'
import { type StatusView, statusView } from '../core/views.js'
import { EXIT } from '../errors.js'
import { RUN_STATUSES, type RunStatus } from '../store/types.js'

export default class Status extends BaseCommand {
  static override summary = 'Show scheduler health: live instances, running jobs, the last 24 h, the next slot due.'
  static override description =
    `Exits with code ${EXIT.unhealthy} when no scheduler is alive, after printing the report.
A scheduler instance is alive when it has not stopped and has heartbeated within its lease (30 s for
a state file, 10 s on PostgreSQL); one on this host whose process is gone is dead at once;
run-job processes are not schedulers and are shown only by what they run. When several schedulers
share the state file, the report says so: each slot runs once among them. Of the instances that
stopped cleanly (in the last day) the text shows the latest three; --json lists every one.
The state file is only read: a missing state file reports no instances.`

  static override examples = [
    { description: 'The report', command: '<%= config.bin %> status' },
    {
      description: 'As a health check (exit code 0 when a scheduler is alive)',
      command: '<%= config.bin %> status --json > /dev/null || echo "no scheduler alive"',
    },
  ]

  static override flags = { wide: wideFlag }

  async run(): Promise<StatusView> {
    const { flags } = await this.parse(Status)
    const { config, store, stateOnly } = await this.openForReading(flags, { hash: true })
    let now = Date.now()
    let report: StatusReport
    try {
      // Heartbeat ages are read on the state's clock (the database server's), as they are written.
      if (store) now += await store.clockOffset()
      report = await statusReport(config, store, now)
    } finally {
      await store?.close()
    }
    if (!this.jsonEnabled()) {
      const differing = report.instances.filter((i) => i.configDiffers === true)
      const drift = configDriftNotice(differing, config)
      this.out(await renderStatus(report, now, { zone: config.timezone, stateOnly, wide: flags.wide, drift }))
    }
    // Set, not thrown: the report (or its JSON) is still printed in full.
    if (!report.healthy) process.exitCode = EXIT.unhealthy
    return statusView(report)
  }
}

/** Instances that stopped cleanly shown in the text report, the latest first. */
const SHOWN_STOPPED = 3

export interface RenderStatusOptions {
  /** Zone for instants that belong to no job (instance start times). */
  zone: string
  /** Read without the config: the next slot due is unknown, not "nothing scheduled". */
  stateOnly?: boolean
  wide?: boolean
  /** A live scheduler runs another version of the config (config-drift.ts). */
  drift?: string | undefined
  stream?: { isTTY?: boolean }
}

/** The human report; `now` passed in so relative times are testable. */
export async function renderStatus(report: StatusReport, now: number, options: RenderStatusOptions): Promise<string> {
  await preparePaint(options.stream)
  const p = paint(options.stream)
  const field = (label: string, value: string) => `${p.bold(label.padEnd(11))} ${value}`
  const alive = report.instances.filter((i) => i.alive).length
  const lines = [
    field(
      'scheduler',
      report.healthy
        ? p.green(`healthy: ${alive} of ${report.instances.length} instance(s) alive`)
        : p.red(`unhealthy: ${unhealthyReason(report, now)}`),
    ),
    ...(alive > 1 ? [field('sharing', `${alive} schedulers share this state: each slot runs once among them`)] : []),
    ...(options.drift === undefined ? [] : [field('config', p.yellow(options.drift))]),
    field('state', stateText(report.state)),
    field('next due', options.stateOnly ? 'unknown (read without a config)' : nextDueText(report, now)),
    field('last 24h', countsText(report.last24h.counts)),
  ]
  if (report.instances.length > 0) {
    // Every live or dead one; of those that stopped cleanly, the latest few (a restart a day adds one).
    const stopped = report.instances.filter((i) => i.stoppedAt !== null)
    const hidden = new Set(stopped.sort((x, y) => (y.stoppedAt ?? 0) - (x.stoppedAt ?? 0)).slice(SHOWN_STOPPED))
    const rows = report.instances
      .filter((i) => !hidden.has(i))
      .map((i) => [
        i.id,
        i.host,
        String(i.pid),
        i.alive ? p.green('alive') : i.stoppedAt !== null ? p.dim('stopped') : p.red('dead'),
        formatLocal(i.startedAt, options.zone),
        relative(i.heartbeatAt, now),
        offsetText(i.clockOffsetMs, p),
      ])
    const head = ['id', 'host', 'pid', 'state', 'since', 'heartbeat', 'clock']
    lines.push('', p.bold('Instances'), await renderTable(head, rows, options.stream, { wide: options.wide === true }))
    if (hidden.size > 0) lines.push(p.dim(`and ${hidden.size} that stopped earlier (status --json lists every one)`))
  }
  lines.push('', p.bold('Running now'))
  if (report.running.length === 0) lines.push(p.dim('nothing is running'))
  else {
    const rows = report.running.map((r) => [
      r.job,
      String(r.runId),
      String(r.attempt),
      r.status === 'running' ? r.trigger : `${r.trigger} (recorded ${r.status}, still executing)`,
      r.instance,
      r.host === null ? '-' : `${r.host} pid ${r.pid}`,
      relative(r.startedAt, now),
    ])
    const head = ['job', 'run', 'attempt', 'trigger', 'instance', 'where', 'started']
    lines.push(await renderTable(head, rows, options.stream, { wide: options.wide === true }))
  }
  return lines.join('\n')
}

/** The host's clock against the state's: "+0.004s", or "5m behind" in yellow past a second. */
function offsetText(offsetMs: number | null, p: Painter): string {
  if (offsetMs === null) return '-'
  if (Math.abs(offsetMs) <= SKEW_WARN_MS)
    return `${offsetMs >= 0 ? '+' : '-'}${(Math.abs(offsetMs) / 1000).toFixed(3)}s`
  return p.yellow(`${formatDuration(Math.abs(offsetMs))} ${offsetMs > 0 ? 'behind' : 'ahead'}`)
}

function unhealthyReason(report: StatusReport, now: number): string {
  if (!report.state.exists) return 'no scheduler alive (no state file yet)'
  if (report.instances.length === 0) return 'no scheduler alive (none has registered)'
  // A clean stop and a crash call for different next steps, so say which it was.
  const stopped = report.instances.map((i) => i.stoppedAt).filter((at) => at !== null)
  if (stopped.length === report.instances.length) {
    return `no scheduler alive (the last one stopped ${relative(Math.max(...stopped), now)})`
  }
  const last = Math.max(...report.instances.filter((i) => i.stoppedAt === null).map((i) => i.heartbeatAt))
  return `no scheduler alive (last heartbeat ${relative(last, now)})`
}

function stateText(state: StatusReport['state']): string {
  if (!state.exists) return `${state.path} (not created yet)`
  const what = { file: formatBytes(state.sizeBytes ?? 0), memory: 'in memory', postgres: 'PostgreSQL' }[state.kind]
  return `${state.path} (${what}, schema version ${state.schemaVersion})`
}

function nextDueText(report: StatusReport, now: number): string {
  const next = report.nextDue
  if (next === null) return 'nothing scheduled'
  return `${next.job} at ${formatLocal(next.at, next.zone)}, ${relative(next.at, now)}`
}

function countsText(counts: Record<RunStatus, number>): string {
  const parts = RUN_STATUSES.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s}`)
  return parts.length > 0 ? parts.join(', ') : 'no runs'
}
