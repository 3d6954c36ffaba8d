import path from 'node:path'
import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { parseInstantFlag, parseIntegerFlag, parseZoneFlag, wideFlag } from '../cli/flags.js'
import { findJob } from '../cli/jobs.js'
import { formatLocalShort, formatUtc, paint, preparePaint, relative, renderTable } from '../cli/output.js'
import { CronsError, quote } from '../errors.js'
import { localZone, nextFires, parseCron } from '../schedule/index.js'
import type { Schedule } from '../schedule/types.js'

export default class Next extends BaseCommand {
  static override summary = 'Show the next fire times of a cron expression or of a configured job.'
  static override description = `With an expression, no config file is read (one in the current directory is ignored).
With --job, the job's own schedule and time zone come from the config.
Daylight-saving days follow the crons rules: see docs/scheduling.md.`

  static override examples = [
    {
      description: 'Next 5 fires of a daily job in New York',
      command: '<%= config.bin %> next "30 2 * * *" --tz America/New_York',
    },
    {
      description: 'Around a DST change, as JSON',
      command: '<%= config.bin %> next "30 2 * * *" --tz America/New_York --from 2025-03-08T12:00:00Z --count 3 --json',
    },
    { description: "A configured job's schedule", command: '<%= config.bin %> next --job backup' },
  ]

  static override args = {
    expression: Args.string({ description: 'Cron expression (5 fields, or 6 with seconds) or alias such as @daily' }),
  }

  static override flags = {
    job: Flags.string({ char: 'j', description: 'Use this configured job instead of an expression.' }),
    tz: Flags.string({
      description:
        "IANA time zone to read the expression (or a --job's cron schedule) in; an interval job's times are shown in it. [default: the local zone, or the job's]",
    }),
    from: Flags.string({ description: 'Start after this instant (ISO-8601 with offset or Z). [default: now]' }),
    count: Flags.string({ char: 'n', description: 'How many fire times (1-10000). [default: 5]' }),
    wide: wideFlag,
  }

  async run(): Promise<string[]> {
    const { args, flags } = await this.parse(Next)
    const schedule = await this.scheduleFrom(args.expression, flags)
    const from = flags.from === undefined ? Date.now() : parseInstantFlag('from', flags.from)
    const count = flags.count === undefined ? 5 : parseIntegerFlag('count', flags.count, 1, 10_000)
    const fires = nextFires(schedule, from, count)
    const iso = fires.map(formatUtc)
    if (this.jsonEnabled()) return iso
    if (fires.length === 0) {
      this.out(`${quote(schedule.text)} does not fire after ${formatUtc(from)}.`)
      return iso
    }
    this.out(`${schedule.text} (${schedule.describe()}) in ${schedule.zone}`)
    const now = Date.now()
    const rows = fires.map((ms, i) => [
      String(i + 1),
      formatUtc(ms),
      formatLocalShort(ms, schedule.zone),
      relative(ms, now),
    ])
    const head = ['#', 'UTC', `Local (${schedule.zone})`, 'When']
    this.out(await renderTable(head, rows, process.stdout, { wide: flags.wide }))
    return iso
  }

  private async scheduleFrom(
    expression: string | undefined,
    flags: { job?: string; tz?: string; config?: string; state?: string },
  ): Promise<Schedule> {
    if (flags.job !== undefined) {
      if (expression !== undefined) {
        throw new CronsError('FLAG_INVALID', 'give either an expression or --job, not both')
      }
      const config = await this.loadConfig(flags)
      const job = findJob(config, flags.job)
      if (!job.enabled) {
        const where = config.configPath === undefined ? 'the config' : path.basename(config.configPath)
        const note = `job ${quote(job.name)} is disabled (enabled: false in ${where}): these are its schedule's fires; it never runs`
        await preparePaint(process.stderr)
        process.stderr.write(`${paint(process.stderr).dim(`note: ${note}`)}\n`)
      }
      return flags.tz === undefined ? job.schedule : inZone(job.schedule, parseZoneFlag('tz', flags.tz))
    }
    if (expression === undefined) {
      throw new CronsError(
        'FLAG_INVALID',
        'missing cron expression (expected an expression such as "0 3 * * *", or --job NAME)',
      )
    }
    const zone = flags.tz === undefined ? localZone() : parseZoneFlag('tz', flags.tz)
    return parseCron(expression, zone)
  }
}

/** `--tz` on a job: a cron schedule is read in that zone; other schedules keep their instants, shown in it. */
function inZone(schedule: Schedule, zone: string): Schedule {
  if (schedule.kind === 'cron') return parseCron(schedule.text, zone)
  return {
    kind: schedule.kind,
    text: schedule.text,
    zone,
    next: (after) => schedule.next(after),
    describe: () => schedule.describe(),
  }
}
