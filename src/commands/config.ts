import { BaseCommand } from '../cli/base.js'
import { commandCell, formatLocal, formatUtc, paint, relative, renderTable } from '../cli/output.js'
import { formatDuration } from '../config/duration.js'
import type { ResolvedConfig, ResolvedJob, ValueSource } from '../config/types.js'

interface Sourced<T> {
  value: T
  source: ValueSource
}

export interface JobView {
  name: string
  kind: ResolvedJob['kind']
  schedule: string
  /** The schedule in plain English. */
  description: string
  /** The job's own `description` from the config. */
  about: string | null
  zone: string
  nextFire: string | null
  timeoutMs: number
  retry: ResolvedJob['retry']
  overlap: ResolvedJob['overlap']
  catchUp: boolean
  misfireGraceMs: number
  jitterMs: number
  tags: string[]
  /** `enabled: false`: kept in the config, never scheduled (`nextFire` is null). */
  disabled: boolean
  /**
   * A command job's command as written, its folder, the names of the variables it sets (not their
   * values: they may be secrets) and its SIGTERM-to-SIGKILL grace; null for a function job.
   */
  command: { command: string | readonly string[]; cwd: string; env: string[]; killGraceMs: number } | null
}

export interface ConfigView {
  configPath: string | null
  state: Sourced<string>
  timezone: Sourced<string>
  shutdownGraceMs: Sourced<number>
  history: Sourced<ResolvedConfig['history']>
  jobs: JobView[]
}

export default class Config extends BaseCommand {
  static override summary = 'Show the resolved configuration: files, defaults, and every job with its next fire.'
  static override description = `Each top-level value says where it came from: flag, env, file or default.
A command job shows its command; a job with enabled: false shows "disabled" instead of a next fire.
Precedence is flag > env > file > default.`

  static override examples = [
    { description: 'The config in the current directory', command: '<%= config.bin %> config' },
    {
      description: 'Another config, as JSON',
      command: '<%= config.bin %> config --config ./ops/crons.config.ts --json',
    },
    { description: 'Override the state file', command: 'CRONS_STATE=/var/lib/crons.db <%= config.bin %> config' },
  ]

  async run(): Promise<ConfigView> {
    const { flags } = await this.parse(Config)
    const config = await this.loadConfig(flags)
    const now = Date.now()
    const view = configView(config, now)
    if (!this.jsonEnabled()) await this.print(view, now)
    return view
  }

  private async print(view: ConfigView, now: number): Promise<void> {
    const p = paint()
    const from = (source: ValueSource) => p.dim(`(${source})`)
    this.out(`${p.bold('config file')}     ${view.configPath ?? '-'}`)
    this.out(`${p.bold('state file')}      ${view.state.value} ${from(view.state.source)}`)
    this.out(`${p.bold('timezone')}        ${view.timezone.value} ${from(view.timezone.source)}`)
    this.out(
      `${p.bold('shutdown grace')}  ${formatDuration(view.shutdownGraceMs.value)} ${from(view.shutdownGraceMs.source)}`,
    )
    const h = view.history.value
    this.out(`${p.bold('history')}         ${h.keepDays} days, ${h.keepRuns} runs per job ${from(view.history.source)}`)
    this.out('')
    if (view.jobs.length === 0) {
      this.out('No jobs configured.')
      return
    }
    // The job's own description gets a column of its own: under the name it read as an unheaded column.
    const rows = view.jobs.map((job) => [
      job.command === null ? job.name : `${job.name}\n${p.dim(commandCell(job.command.command))}`,
      job.about || '-',
      `${job.schedule}\n${p.dim(job.description)}`,
      job.zone,
      job.disabled
        ? p.dim('disabled')
        : job.nextFire === null
          ? '-'
          : `${formatLocal(Date.parse(job.nextFire), job.zone)}\n${relative(Date.parse(job.nextFire), now)}`,
      job.timeoutMs === 0 ? 'none' : formatDuration(job.timeoutMs),
      retryText(job.retry),
      job.overlap,
      job.catchUp ? 'yes' : 'no',
      job.tags.join(', '),
    ])
    this.out(
      await renderTable(
        ['job', 'description', 'schedule', 'zone', 'next fire', 'timeout', 'retry', 'overlap', 'catch-up', 'tags'],
        rows,
      ),
    )
  }
}

export function configView(config: ResolvedConfig, now: number): ConfigView {
  return {
    configPath: config.configPath ?? null,
    state: { value: config.statePath, source: config.sources.state },
    timezone: { value: config.timezone, source: config.sources.timezone },
    shutdownGraceMs: { value: config.shutdownGraceMs, source: config.sources.shutdownGrace },
    history: { value: config.history, source: config.sources.history },
    jobs: config.jobs.map((job) => {
      const next = job.enabled ? job.schedule.next(now) : null
      return {
        name: job.name,
        kind: job.kind,
        schedule: job.scheduleText,
        description: job.schedule.describe(),
        about: job.description ?? null,
        zone: job.zone,
        nextFire: next === null ? null : formatUtc(next),
        timeoutMs: job.timeoutMs,
        retry: job.retry,
        overlap: job.overlap,
        catchUp: job.catchUp,
        misfireGraceMs: job.misfireGraceMs,
        jitterMs: job.jitterMs,
        tags: job.tags,
        disabled: !job.enabled,
        command: job.command ? { ...job.command, env: Object.keys(job.command.env) } : null,
      }
    }),
  }
}

function retryText(retry: ResolvedJob['retry']): string {
  if (retry.max === 0) return 'none'
  return `${retry.max}× ${retry.backoff} ${formatDuration(retry.initialMs)}..${formatDuration(retry.maxDelayMs)}`
}
