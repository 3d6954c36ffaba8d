import { Args } from '@oclif/core'
import { BaseCommand } from '../cli/base.js'
import { changePaused, type PauseResult } from '../core/pause.js'
import { pauseMessage, stateAccess } from './pause-job.js'

export default class ResumeJob extends BaseCommand {
  static override summary = 'Resume a paused job: its next slot runs as scheduled.'
  static override description = `Slots skipped while the job was paused are not run afterwards.
Running schedulers pick the change up at their next slot, without a restart.
Resuming a job that is not paused changes nothing and says so.`

  static override examples = [
    { description: 'Resume the backup job', command: '<%= config.bin %> resume-job backup' },
    { description: 'As JSON: {"job","paused","changed"}', command: '<%= config.bin %> resume-job backup --json' },
  ]

  static override args = { name: Args.string({ description: 'The job to resume.', required: true }) }

  async run(): Promise<PauseResult> {
    const { args, flags } = await this.parse(ResumeJob)
    const config = await this.loadConfig(flags)
    const result = await changePaused(config, stateAccess(config), args.name, false, Date.now)
    this.out(pauseMessage(result))
    return result
  }
}
