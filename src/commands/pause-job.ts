import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { paint } from '../cli/output.js'
import { stateAccess } from '../cli/state.js'
import { changePaused, type PauseResult } from '../core/pause.js'

export default class PauseJob extends BaseCommand {
  static override summary = 'Pause a job: its slots are recorded as skipped until it is resumed.'
  static override description = `The flag lives in the state file: running schedulers honour it at their next slot.
Each slot that comes due while paused is recorded "skipped" with the reason "paused".
Pausing a paused job changes nothing and says so.
Only the state is needed: with --state (or CRONS_STATE) and no config file, the state given is used.`

  static override examples = [
    { description: 'Pause the backup job', command: '<%= config.bin %> pause-job backup' },
    { description: 'As JSON: {"job","paused","changed"}', command: '<%= config.bin %> pause-job backup --json' },
    {
      description: 'On a host with the state but not the config',
      command: '<%= config.bin %> pause-job backup --state postgres://crons@db/crons',
    },
  ]

  static override args = { name: Args.string({ description: 'The job to pause.', required: true }) }

  /** What the command sets the flag to: `resume-job` is this command with `false`. */
  protected readonly paused: boolean = true

  async run(): Promise<PauseResult> {
    const { args, flags } = await this.parse(this.ctor as typeof PauseJob)
    const config = await this.configOrStateAlone(flags)
    const result = await changePaused(config, stateAccess(config), args.name, this.paused, Date.now)
    this.out(pauseMessage(result))
    return result
  }
}

/** One line for people; the JSON says the same with `changed`. */
export function pauseMessage(result: Pick<PauseResult, 'job' | 'paused' | 'changed'>): string {
  const job = paint().bold(result.job)
  if (result.paused) {
    return result.changed
      ? `Paused ${job}: its slots are skipped until \`crons resume-job ${result.job}\`.`
      : `${job} was already paused.`
  }
  return result.changed ? `Resumed ${job}: its next slot runs as scheduled.` : `${job} was not paused.`
}
