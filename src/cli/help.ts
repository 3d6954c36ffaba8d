/**
 * oclif's help with an EXAMPLES section on the root page (`crons --help`), like every command's:
 * the commands a new user reaches for first.
 */
import { Help } from '@oclif/core'

const ROOT_EXAMPLES: readonly (readonly [string, string])[] = [
  ['Run the scheduler on ./crons.config.ts (Ctrl-C drains and stops it)', 'start-scheduler'],
  ['Every job, its next and last run', 'list-jobs'],
  ['Run a job now, through the same pipeline as a scheduled run', 'run-job backup'],
  ['What failed in the last 2 hours', 'logs --status failed --since 2h'],
  ['The next fire times of an expression in a time zone', 'next "30 2 * * *" --tz America/New_York'],
]

export default class CronsHelp extends Help {
  protected override async showRootHelp(): Promise<void> {
    await super.showRootHelp()
    const body = ROOT_EXAMPLES.map(([what, args]) => `${what}\n\n  $ ${this.config.bin} ${args}`).join('\n\n')
    this.log(this.section('EXAMPLES', body))
  }
}
