/** oclif's help, with EXAMPLES on the root page too, and descriptions wrapped once, to the terminal's width. */
import { CommandHelp, Help } from '@oclif/core'

const ROOT_EXAMPLES: readonly (readonly [string, string])[] = [
  ['Run the scheduler on ./crons.config.ts (Ctrl-C drains and stops it)', 'start-scheduler'],
  ['Every job, its next and last run', 'list-jobs'],
  ['Run a job now, through the same pipeline as a scheduled run', 'run-job backup'],
  ['What failed in the last 2 hours', 'logs --status failed --since 2h'],
  ['The next fire times of an expression in a time zone', 'next "30 2 * * *" --tz America/New_York'],
]

/** Paragraphs (separated by a blank line) with their source line breaks turned into spaces. */
export function reflow(text: string): string {
  const lines = (paragraph: string) => paragraph.split(/\r?\n/).map((line) => line.trim())
  return text
    .split(/\r?\n\s*\r?\n/)
    .map((paragraph) => lines(paragraph).join(' '))
    .join('\n\n')
}

class CronsCommandHelp extends CommandHelp {
  protected override description(): string | undefined {
    const text = this.command.description
    return text ? this.wrap(reflow(text)) : undefined
  }
}

export default class CronsHelp extends Help {
  protected override CommandHelpClass = CronsCommandHelp

  /** `crons help nope` is refused in the words of `crons nope`, not in oclif's. */
  override async showHelp(argv: string[]): Promise<void> {
    const subject = argv.filter((arg) => !arg.startsWith('-')).join(':')
    if (subject === '' || this.config.findCommand(subject) || this.config.findTopic(subject)) {
      return super.showHelp(argv)
    }
    const { reportUnknownCommand } = await import('./not-found.js')
    await reportUnknownCommand(subject, this.config)
  }

  protected override async showRootHelp(): Promise<void> {
    await super.showRootHelp()
    const body = ROOT_EXAMPLES.map(([what, args]) => `${what}\n\n  $ ${this.config.bin} ${args}`).join('\n\n')
    this.log(this.section('EXAMPLES', body))
  }
}
