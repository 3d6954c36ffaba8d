import { Args, Flags } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { parseDurationFlag, parseRunId } from '../cli/flags.js'
import { formatDuration, paint } from '../cli/output.js'
import { stateAccess } from '../cli/state.js'
import { cancelInState } from '../core/cancel.js'
import { systemClock } from '../core/clock.js'
import { type AttemptView, attemptView } from '../core/views.js'

export default class Cancel extends BaseCommand {
  static override summary =
    'Cancel a running attempt, or the retry a failed one waits for: the attempt is recorded cancelled.'
  static override description =
    `The process running the attempt (a scheduler or a run-job, on any host sharing the state) acts on the
request at its next heartbeat: it aborts the job's ctx.signal (a command job gets SIGTERM, then SIGKILL
after its kill grace) and records the attempt "cancelled". A cancel is final: no retry follows; afterRun
hooks run, onError hooks do not.

A failed (or timed-out) attempt whose retry waits out its backoff has that retry cancelled at once: it is
recorded as a cancelled attempt and printed as a cancelled run, and the run is not retried again. A retry
that began first is cancelled as any running attempt.

Waits until the attempt is recorded cancelled (--wait, default 30s) and exits 0 then. An attempt that is
not running (and has no retry pending), or ends otherwise first, is an error; so is a request its process
has not acted on within the wait (the request stands: a live scheduler acts on it at its next heartbeat).
A run whose process is gone (it stopped, or exited on this host) cannot be cancelled: it is recorded
interrupted at once. Only the state is needed: with --state (or CRONS_STATE) and no config file, the
state given is used.`

  static override examples = [
    { description: 'The attempts running now, with their run ids', command: '<%= config.bin %> logs --status running' },
    { description: 'Cancel run 42', command: '<%= config.bin %> cancel 42' },
    { description: 'Failed run 41 waits to be retried: cancel that retry', command: '<%= config.bin %> cancel 41' },
    { description: 'Say why, in the record', command: `<%= config.bin %> cancel 42 --reason "deploy in progress"` },
    {
      description: 'On a host with the state but not the config',
      command: '<%= config.bin %> cancel 42 --state postgres://crons@db/crons',
    },
  ]

  static override args = { id: Args.string({ description: 'The run id, as listed by crons logs.', required: true }) }

  static override flags = {
    reason: Flags.string({ description: 'Why: kept in the record as "cancelled: <reason>".' }),
    wait: Flags.string({
      description: "How long to wait for the attempt to be recorded cancelled, in seconds (or '90s', '2m').",
      default: '30',
    }),
  }

  async run(): Promise<AttemptView> {
    const { args, flags } = await this.parse(Cancel)
    const runId = parseRunId(args.id, 'run id', 'a whole number')
    const rule = { minMs: 0, seconds: true, expected: 'seconds, or a duration such as "90s" or "2m"' }
    const waitMs = parseDurationFlag('wait', flags.wait, rule)
    const config = await this.configOrStateAlone(flags)
    const options = { waitMs, ...(flags.reason === undefined ? {} : { reason: flags.reason }) }
    const view = attemptView(await cancelInState(stateAccess(config), systemClock, runId, options))
    const took = view.durationMs === null ? '' : ` after ${formatDuration(view.durationMs)}`
    this.out(`Cancelled run ${view.id} of ${paint().bold(view.job)}${took}.`)
    return view
  }
}
