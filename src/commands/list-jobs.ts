import { Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import {
  commandCell,
  formatLocal,
  formatUtc,
  type Painter,
  paint,
  preparePaint,
  relative,
  renderTable,
  statusColour,
} from '../cli/output.js'
import { openStateForReading } from '../cli/state.js'
import type { Trigger } from '../config/types.js'
import { type JobSummary, jobSummaries } from '../core/inspect.js'
import { quote } from '../errors.js'
import type { RunStatus } from '../store/types.js'

/** A `JobSummary` with ISO instants: what `--json` prints. */
export interface JobListEntry {
  name: string
  schedule: string | null
  description: string | null
  zone: string | null
  nextRun: string | null
  lastRun: {
    id: number
    status: RunStatus
    trigger: Trigger
    startedAt: string
    finishedAt: string | null
    durationMs: number | null
  } | null
  tags: string[]
  paused: boolean
  /** `enabled: false` in the config: listed, never scheduled (`nextRun` is null). */
  disabled: boolean
  removed: boolean
  /** A command job's command as written (a shell line or an argv); null for a function job. */
  command: string | readonly string[] | null
}

export default class ListJobs extends BaseCommand {
  static override summary = 'List every job: schedule, next run, last run, tags, and whether it is paused or disabled.'
  static override description =
    `Every job in the config is listed, whether or not it has run; a command job with its command.
Jobs with enabled: false in the config are shown as disabled: they are never scheduled.
Jobs the state file remembers but the config no longer lists are shown as removed.
The state file is only read: listing never creates it.`

  static override examples = [
    { description: 'All jobs', command: '<%= config.bin %> list-jobs' },
    { description: 'Only the jobs tagged "nightly"', command: '<%= config.bin %> list-jobs --tag nightly' },
    { description: 'As JSON, for scripts', command: '<%= config.bin %> list-jobs --json' },
  ]

  static override flags = {
    tag: Flags.string({ char: 't', description: 'Only jobs with this tag (an unknown tag gives an empty list).' }),
  }

  async run(): Promise<JobListEntry[]> {
    const { flags } = await this.parse(ListJobs)
    const config = await this.loadConfig(flags)
    const store = await openStateForReading(config)
    const now = Date.now()
    let jobs: JobSummary[]
    try {
      jobs = await jobSummaries(config, store, now)
    } finally {
      await store?.close()
    }
    if (flags.tag !== undefined) jobs = filterByTag(jobs, flags.tag)
    if (!this.jsonEnabled()) {
      const options = { statePath: store ? undefined : config.statePath, ...(flags.tag ? { tag: flags.tag } : {}) }
      this.out(await renderJobList(jobs, now, options))
    }
    return jobs.map(toEntry)
  }
}

/** Removed jobs have no tags any more, so a tag filter never shows them. */
export function filterByTag(jobs: JobSummary[], tag: string): JobSummary[] {
  return jobs.filter((job) => job.tags.includes(tag))
}

export function toEntry(job: JobSummary): JobListEntry {
  const last = job.lastRun
  return {
    name: job.name,
    schedule: job.schedule,
    description: job.description,
    zone: job.zone,
    nextRun: job.nextRun === null ? null : formatUtc(job.nextRun),
    lastRun: last && {
      id: last.id,
      status: last.status,
      trigger: last.trigger,
      startedAt: formatUtc(last.startedAt),
      finishedAt: last.finishedAt === null ? null : formatUtc(last.finishedAt),
      durationMs: last.durationMs,
    },
    tags: job.tags,
    paused: job.paused,
    disabled: job.disabled,
    removed: job.removed,
    command: job.command,
  }
}

export interface RenderJobListOptions {
  /** The filter that produced `jobs`, so an empty list can say why it is empty. */
  tag?: string
  /** Set when there is no state file yet: said once below the table, so "never ran" is not a mystery. */
  statePath?: string | undefined
  stream?: { isTTY?: boolean }
}

/** The human listing, with `now` passed in so relative times are testable. */
export async function renderJobList(
  jobs: JobSummary[],
  now: number,
  options: RenderJobListOptions = {},
): Promise<string> {
  await preparePaint(options.stream)
  const p = paint(options.stream)
  if (jobs.length === 0) {
    return options.tag === undefined ? 'No jobs configured.' : `No jobs with tag ${quote(options.tag)}.`
  }
  const rows = jobs.map((job) => [
    job.command === null ? job.name : `${job.name}\n${p.dim(commandCell(job.command))}`,
    job.schedule === null ? p.dim('-') : `${job.schedule}\n${p.dim(job.description ?? '')}`,
    job.zone ?? '-',
    job.disabled
      ? p.dim('disabled')
      : job.nextRun === null || job.zone === null
        ? '-'
        : `${formatLocal(job.nextRun, job.zone)}\n${relative(job.nextRun, now)}`,
    lastRunText(job, now, p),
    job.tags.join(', '),
    stateText(job, p),
  ])
  const table = await renderTable(
    ['job', 'schedule', 'zone', 'next run', 'last run', 'tags', 'state'],
    rows,
    options.stream,
  )
  return options.statePath === undefined
    ? table
    : `${table}\n${p.dim(`No state file at ${options.statePath} yet: nothing has run.`)}`
}

function lastRunText(job: JobSummary, now: number, p: Painter): string {
  const last = job.lastRun
  if (last === null) return p.dim('never ran')
  return `${statusColour(last.status, p)} ${relative(last.finishedAt ?? last.startedAt, now)}`
}

function stateText(job: JobSummary, p: Painter): string {
  if (job.removed) return p.dim(job.paused ? 'removed, paused' : 'removed')
  if (job.disabled) return p.dim(job.paused ? 'disabled, paused' : 'disabled')
  return job.paused ? p.yellow('paused') : 'active'
}
