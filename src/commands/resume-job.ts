import { Args } from '@oclif/core'
import PauseJob from './pause-job.js'

/** `pause-job` clearing the flag instead of setting it. */
export default class ResumeJob extends PauseJob {
  static override summary = 'Resume a paused job: its next slot runs as scheduled.'
  static override description = `Slots skipped while the job was paused are not run afterwards.
Running schedulers pick the change up at their next slot, without a restart.
Resuming a job that is not paused changes nothing and says so.
Only the state is needed: with --state (or CRONS_STATE) and no config file, the state given is used.`

  static override examples = [
    { description: 'Resume the backup job', command: '<%= config.bin %> resume-job backup' },
    { description: 'As JSON: {"job","paused","changed"}', command: '<%= config.bin %> resume-job backup --json' },
    {
      description: 'On a host with the state but not the config',
      command: '<%= config.bin %> resume-job backup --state /var/lib/crons/crons.db',
    },
  ]

  static override args = { name: Args.string({ description: 'The job to resume.', required: true }) }

  protected override readonly paused = false
}
