import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { printEvents } from '../cli/events.js'
import { findJob } from '../cli/jobs.js'
import { compactDuration, paint, statusColour } from '../cli/output.js'
import { parseDuration } from '../config/duration.js'
import { Scheduler } from '../core/scheduler.js'
import { CronsError, EXIT, quote } from '../errors.js'

export interface RunJobResult {
  job: string
  runId: number
  status: string
  attempts: number
  durationMs: number
  error: { message: string; stack?: string } | null
}

export default class RunJob extends BaseCommand {
  static override summary = 'Run a job now, through the same pipeline as a scheduled run.'
  static override description =
    `Timeout, retries, hooks and a history row (trigger "manual") work as for a scheduled run.
Refused while the job is running in any process sharing the state file, unless --force.
Exit code 0 only if the run succeeded.`

  static override examples = [
    { description: 'Run the backup job now', command: '<%= config.bin %> run-job backup' },
    {
      description: 'Even if a scheduler is running it, with a 60 s timeout',
      command: '<%= config.bin %> run-job backup --force --timeout 60',
    },
  ]

  static override args = {
    name: Args.string({ description: 'The job to run.', required: true }),
  }

  static override flags = {
    force: Flags.boolean({ description: 'Run even if the job is running elsewhere.', default: false }),
    timeout: Flags.string({ description: "Timeout in seconds (or '90s', '5m'), instead of the job's own." }),
  }

  async run(): Promise<RunJobResult> {
    const { args, flags } = await this.parse(RunJob)
    const timeoutMs = flags.timeout === undefined ? undefined : parseTimeoutFlag(flags.timeout)
    const config = await this.loadConfig(flags)
    findJob(config, args.name)
    const scheduler = new Scheduler(config, { initiator: 'cli' })
    const json = this.jsonEnabled()
    // Progress goes to stderr so stdout holds only the result (or its JSON).
    const stopPrinting = printEvents(scheduler.events, 'text', (line) => process.stderr.write(`${line}\n`))
    const onSignal = () => void scheduler.stop()
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    const started = Date.now()
    try {
      const result = await scheduler.runJob(args.name, {
        force: flags.force,
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      })
      const outcome: RunJobResult = {
        job: args.name,
        runId: result.runId,
        status: result.status,
        attempts: result.attempts,
        durationMs: Date.now() - started,
        error: result.error ?? null,
      }
      if (!json) {
        const p = paint()
        const why = result.error ? `: ${result.error.message}` : ''
        this.out(
          `${p.bold(args.name)} ${statusColour(result.status, p)} after ${result.attempts} attempt(s) in ${compactDuration(outcome.durationMs)} (run ${result.runId})${why}`,
        )
      }
      if (result.status !== 'succeeded') process.exitCode = EXIT.runFailed
      return outcome
    } finally {
      stopPrinting()
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      await scheduler.stop()
      this.exitWhenDone()
    }
  }
}

function parseTimeoutFlag(raw: string): number {
  const text = raw.trim()
  let ms: number
  try {
    ms = parseDuration(/^\d+(\.\d+)?$/.test(text) ? Number(text) : text)
  } catch {
    ms = Number.NaN
  }
  if (!(ms > 0)) {
    throw new CronsError(
      'FLAG_INVALID',
      `--timeout ${quote(raw)} is not valid (expected seconds greater than 0, or a duration such as "90s" or "5m")`,
    )
  }
  return ms
}
