import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { configDriftNotice } from '../cli/config-drift.js'
import { wideFlag } from '../cli/flags.js'
import {
  commandCell,
  formatLocalShort,
  type Painter,
  paint,
  preparePaint,
  relative,
  renderTable,
  statusColour,
} from '../cli/output.js'
import { type JobSummary, jobSummaries, otherConfig } from '../core/inspect.js'
import { type JobView, jobView, withTag } from '../core/views.js'
import { quote } from '../errors.js'

export default class ListJobs extends BaseCommand {
  static override summary = 'List every job: schedule, next run, last run, tags, and whether it is paused or disabled.'
  static override description =
    `Every job in the config is listed, whether or not it has run; a command job with its command.
Jobs with enabled: false in the config are shown as disabled: they are never scheduled.
A paused job shows since when it is paused, in its time zone (--json: pausedAt), and no next run
(--json keeps nextRun: the slot it would run at once resumed).
Jobs the state file remembers but the config no longer lists are shown as removed.
The state file is only read: listing never creates it.

Given --state and no config file (or a config that lists none of the state's jobs), the jobs are the state's own, without schedules: a config's jobs are never shown as the state's.`

  static override examples = [
    { description: 'All jobs', command: '<%= config.bin %> list-jobs' },
    { description: 'Only the jobs tagged "nightly"', command: '<%= config.bin %> list-jobs --tag nightly' },
    { description: 'As JSON, for scripts', command: '<%= config.bin %> list-jobs --json' },
    {
      description: 'The jobs a state file knows, without a config',
      command: '<%= config.bin %> list-jobs --state /var/lib/crons/crons.db',
    },
  ]

  static override flags = {
    tag: Flags.string({ char: 't', description: 'Only jobs with this tag (an unknown tag gives an empty list).' }),
    wide: wideFlag,
  }

  async run(): Promise<JobView[]> {
    const { flags } = await this.parse(ListJobs)
    const { config, store, stateOnly } = await this.openForReading(flags, { hash: true })
    let now = Date.now()
    let jobs: JobSummary[]
    let drift: string | undefined
    try {
      // Liveness is judged on the state's clock (the database server's), as heartbeats are written.
      if (store) now += await store.clockOffset()
      // Read once: the per-job flag and the notice below the table agree.
      const others = store ? await otherConfig(config, store, now) : []
      jobs = await jobSummaries(config, store, now, { stateOnly, otherConfig: others })
      drift = configDriftNotice(others, config)
    } finally {
      await store?.close()
    }
    if (flags.tag !== undefined) jobs = withTag(jobs, flags.tag)
    if (!this.jsonEnabled()) {
      const options = {
        statePath: store ? undefined : config.statePath,
        stateOnly,
        wide: flags.wide,
        drift,
        ...(flags.tag ? { tag: flags.tag } : {}),
      }
      this.out(await renderJobList(jobs, now, options))
    }
    return jobs.map(jobView)
  }
}

export interface RenderJobListOptions {
  /** The filter that produced `jobs`, so an empty list can say why it is empty. */
  tag?: string
  stateOnly?: boolean
  wide?: boolean
  /** Set when there is no state file yet: said below the table, so "never ran" is not a mystery. */
  statePath?: string | undefined
  /** A live scheduler runs another version of the config (config-drift.ts). */
  drift?: string | undefined
  stream?: { isTTY?: boolean }
}

/** The human listing; `now` passed in so relative times are testable. */
export async function renderJobList(
  jobs: JobSummary[],
  now: number,
  options: RenderJobListOptions = {},
): Promise<string> {
  await preparePaint(options.stream)
  const p = paint(options.stream)
  if (jobs.length === 0) {
    if (options.tag !== undefined) return `No jobs with tag ${quote(options.tag)}.`
    return options.stateOnly ? 'No jobs in the state file.' : 'No jobs configured.'
  }
  const rows = jobs.map((job) => [
    job.command === null ? job.name : `${job.name}\n${p.dim(commandCell(job.command))}`,
    job.schedule === null ? p.dim('-') : `${job.schedule}\n${p.dim(job.scheduleInWords ?? '')}`,
    job.zone ?? '-',
    job.disabled
      ? p.dim('disabled')
      : job.nextRun === null || job.zone === null
        ? '-'
        : job.paused
          ? p.dim('none while paused')
          : `${formatLocalShort(job.nextRun, job.zone)}\n${relative(job.nextRun, now)}`,
    lastRunText(job, now, p),
    job.tags.join(', '),
    stateText(job, now, p),
  ])
  const head = ['job', 'schedule', 'zone', 'next run', 'last run', 'tags', 'state']
  const table = await renderTable(head, rows, options.stream, { wide: options.wide === true, fixed: [6] })
  const notes = [
    ...(options.statePath === undefined ? [] : [p.dim(`No state file at ${options.statePath} yet: nothing has run.`)]),
    ...(options.drift === undefined ? [] : [p.yellow(`Note: ${options.drift}.`)]),
  ]
  return [table, ...notes].join('\n')
}

function lastRunText(job: JobSummary, now: number, p: Painter): string {
  const last = job.lastRun
  if (last === null) return p.dim('never ran')
  return `${statusColour(last.status, p)} ${relative(last.finishedAt ?? last.startedAt, now)}`
}

function stateText(job: JobSummary, now: number, p: Painter): string {
  if (job.removed) return p.dim(job.paused ? `removed, ${pausedText(job, now)}` : 'removed')
  if (job.disabled) return p.dim(job.paused ? `disabled, ${pausedText(job, now)}` : 'disabled')
  return job.paused ? p.yellow(pausedText(job, now)) : 'active'
}

/** "paused since <local time>" and how long ago; just "paused" for a pause of unknown start. */
function pausedText(job: JobSummary, now: number): string {
  if (job.pausedAt === null) return 'paused'
  return `paused since ${formatLocalShort(job.pausedAt, job.zone ?? 'UTC')}\n${relative(job.pausedAt, now)}`
}
