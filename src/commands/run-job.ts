import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { printEvents } from '../cli/events.js'
import { parseDurationFlag } from '../cli/flags.js'
import { findJob } from '../cli/jobs.js'
import {
  divertStdout,
  firstLine,
  formatDuration,
  ignoreLostOutput,
  jobText,
  paint,
  statusColour,
  withoutStatus,
} from '../cli/output.js'
import { stopOnSignals } from '../cli/signals.js'
import { Scheduler } from '../core/scheduler.js'
import { reportStrayErrors } from '../core/stray.js'
import type { RunJobView } from '../core/views.js'
import { EXIT, isCronsError } from '../errors.js'
import { openStore } from '../store/index.js'

export default class RunJob extends BaseCommand {
  static override summary = 'Run a job now, through the same pipeline as a scheduled run.'
  static override description =
    `Timeout, retries, hooks and a history row (trigger "manual") work as for a scheduled run.
Refused while the job is running in any process sharing the state file, or when it is disabled in the
config (enabled: false), unless --force. A command job's output is printed as it comes.
On SIGINT, SIGTERM or SIGHUP (its terminal closed) it waits up to the config's shutdownGrace for the
job; a second signal stops it (recorded interrupted). With --json, what the job and its hooks print
goes to stderr. The last line of stdout is the result: status, attempts, duration, run id and the first
line of the error (all of it in --json and logs --run ID).
Exit code 0 only if the run succeeded.`

  static override examples = [
    { description: 'Run the backup job now', command: '<%= config.bin %> run-job backup' },
    {
      description: 'Even if a scheduler is running it, with a 60 s timeout',
      command: '<%= config.bin %> run-job backup --force --timeout 60',
    },
  ]

  static override args = { name: Args.string({ description: 'The job to run.', required: true }) }

  static override flags = {
    force: Flags.boolean({
      description: 'Run even if the job is running elsewhere, or disabled in the config (enabled: false).',
      default: false,
    }),
    timeout: Flags.string({
      description: "Timeout in seconds (or '90s', '5m'), instead of the job's own; 0 for none.",
    }),
  }

  async run(): Promise<RunJobView> {
    const { args, flags } = await this.parse(RunJob)
    const rule = { minMs: 0, seconds: true, expected: 'seconds (0 for none), or a duration such as "90s" or "5m"' }
    const timeoutMs = flags.timeout === undefined ? undefined : parseDurationFlag('timeout', flags.timeout, rule)
    // With --json, what the config, the job or its hooks print goes to stderr.
    const restoreStdout = this.jsonEnabled() ? divertStdout() : undefined
    try {
      return await this.runJob(args.name, flags, timeoutMs)
    } finally {
      restoreStdout?.()
    }
  }

  /** After the JSON, stdout goes to stderr again: a job that ignored its timeout may still be printing. */
  protected override logJson(json: unknown): void {
    super.logJson(json)
    divertStdout()
  }

  private async runJob(
    name: string,
    flags: { force: boolean; config?: string; state?: string },
    timeoutMs: number | undefined,
  ): Promise<RunJobView> {
    const config = await this.loadConfig(flags)
    findJob(config, name)
    const scheduler = new Scheduler(config, { initiator: 'cli', openStore })
    // Progress goes to stderr: stdout holds only the result.
    const stopPrinting = printEvents(scheduler.events, 'text', (line) => process.stderr.write(`${line}\n`))
    // Never removed: a stray error after the result (the job may outlive its run) must not crash the exit.
    reportStrayErrors(scheduler.events)
    // Its terminal closed (SIGHUP), it still stops the job and records it, printing to nowhere.
    ignoreLostOutput()
    const signals = stopOnSignals({
      stop: () => scheduler.stop(),
      // A closed terminal or ssh session (SIGHUP) must not leave the job running without its record.
      signals: ['SIGINT', 'SIGTERM', 'SIGHUP'],
      waitingFor: name,
      graceMs: config.shutdownGraceMs,
      announce: (note) => process.stderr.write(`${note}\n`),
    })
    const started = Date.now()
    try {
      const result = await scheduler
        .runJob(name, { force: flags.force, ...(timeoutMs === undefined ? {} : { timeoutMs }) })
        .catch((error: unknown) => {
          // The engine words the way out for its callers (`{ force: true }`); here it is a flag.
          if (isCronsError(error) && (error.code === 'JOB_RUNNING' || error.code === 'JOB_DISABLED')) {
            error.suggestions.splice(0, Infinity, 'pass --force to run it anyway')
          }
          throw error
        })
      // The last attempt as it was recorded, so its duration and error are what `logs` shows; if the
      // state could not be read, the run's own figures are still printed.
      const { recorded } = result
      const outcome: RunJobView = {
        job: name,
        runId: result.runId,
        status: result.status,
        attempts: result.attempts,
        durationMs: recorded?.durationMs ?? Date.now() - started,
        error:
          recorded?.error ??
          (result.error ? { message: result.error.message, stack: result.error.stack ?? null } : null),
      }
      const p = paint()
      // Its first line, so the result stays the last line; the whole error is in --json and `logs --run`.
      const why = result.error ? `: ${jobText(firstLine(withoutStatus(result.status, result.error.message)))}` : ''
      this.out(
        `${p.bold(name)} ${statusColour(result.status, p)} after ${result.attempts} attempt(s) in ${formatDuration(outcome.durationMs)} (run ${result.runId})${why}`,
      )
      if (result.status !== 'succeeded') process.exitCode = EXIT.runFailed
      return outcome
    } finally {
      stopPrinting()
      signals.dispose()
      await scheduler.stop()
      this.exitWhenDone()
    }
  }
}
