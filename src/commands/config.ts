import { BaseCommand } from '../cli/base.js'
import { wideFlag } from '../cli/flags.js'
import { commandCell, formatLocalShort, paint, relative, renderTable } from '../cli/output.js'
import { formatDuration } from '../config/duration.js'
import type { ResolvedJob, ValueSource } from '../config/types.js'
import { type ConfigView, configView } from '../core/views.js'

export default class Config extends BaseCommand {
  static override summary = 'Show the resolved configuration: files, defaults, and every job with its next run.'
  static override description = `Each top-level value says where it came from: flag, env, file or default.
A command job shows its command; a job with enabled: false shows "disabled" instead of a next run.
Precedence is flag > env > file > default.`

  static override examples = [
    { description: 'The config in the current directory', command: '<%= config.bin %> config' },
    {
      description: 'Another config, as JSON',
      command: '<%= config.bin %> config --config ./ops/crons.config.ts --json',
    },
    { description: 'Override the state file', command: 'CRONS_STATE=/var/lib/crons.db <%= config.bin %> config' },
  ]

  static override flags = { wide: wideFlag }

  async run(): Promise<ConfigView> {
    const { flags } = await this.parse(Config)
    const config = await this.loadConfig(flags)
    const now = Date.now()
    const view = configView(config, now)
    if (!this.jsonEnabled()) await this.print(view, now, flags.wide)
    return view
  }

  private async print(view: ConfigView, now: number, wide: boolean): Promise<void> {
    const p = paint()
    const from = (source: ValueSource) => p.dim(`(${source})`)
    // The values line up in one column; only the label is bold.
    const field = (label: string, value: string) => this.out(`${p.bold(label)}${' '.repeat(16 - label.length)}${value}`)
    field('config file', view.configPath ?? '-')
    field('state file', `${view.state.value} ${from(view.state.source)}`)
    field('timezone', `${view.timezone.value} ${from(view.timezone.source)}`)
    field('shutdown grace', `${formatDuration(view.shutdownGraceMs.value)} ${from(view.shutdownGraceMs.source)}`)
    const h = view.history.value
    field('history', `${h.keepDays} days, ${h.keepRuns} runs per job ${from(view.history.source)}`)
    this.out('')
    if (view.jobs.length === 0) {
      this.out('No jobs configured.')
      return
    }
    // The job's own description gets a column of its own: under the name it read as an unheaded column.
    const rows = view.jobs.map((job) => [
      job.command === null ? job.name : `${job.name}\n${p.dim(commandCell(job.command.command))}`,
      job.description ?? '-',
      `${job.schedule}\n${p.dim(job.scheduleInWords)}`,
      job.zone,
      job.disabled
        ? p.dim('disabled')
        : job.nextRun === null
          ? '-'
          : `${formatLocalShort(Date.parse(job.nextRun), job.zone)}\n${relative(Date.parse(job.nextRun), now)}`,
      job.timeoutMs === 0 ? 'none' : formatDuration(job.timeoutMs),
      retryText(job.retry),
      job.overlap,
      job.catchUp ? 'yes' : 'no',
      job.tags.join(', '),
    ])
    this.out(
      await renderTable(
        ['job', 'description', 'schedule', 'zone', 'next run', 'timeout', 'retry', 'overlap', 'catch-up', 'tags'],
        rows,
        process.stdout,
        { wide },
      ),
    )
  }
}

function retryText(retry: ResolvedJob['retry']): string {
  if (retry.max === 0) return 'none'
  return `${retry.max}× ${retry.backoff} ${formatDuration(retry.initialMs)}..${formatDuration(retry.maxDelayMs)}`
}
