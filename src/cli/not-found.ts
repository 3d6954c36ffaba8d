/** oclif's command_not_found hook: a usage error like any other (one line, exit 2, no prompt). */
import type { Hook, Interfaces } from '@oclif/core'
import { closest, didYouMean, EXIT, quote } from '../errors.js'
import { paint, preparePaint } from './output.js'

/**
 * The words of `id` that name the unknown command: oclif joins it and what follows with ":"
 * (`nxt:0 3 * * *`); what counts is the known topics it starts with, then the next word.
 */
export function unknownCommand(id: string, commandIds: readonly string[]): string {
  const words = id.split(':')
  const topics = new Set(
    commandIds.flatMap((c) =>
      c
        .split(':')
        .slice(0, -1)
        .map((_, i, all) => all.slice(0, i + 1).join(':')),
    ),
  )
  let end = 1
  while (end < words.length && topics.has(words.slice(0, end).join(':'))) end++
  return words.slice(0, end).join(' ')
}

/** The one line for command `id` (words joined by ":") that does not exist, on stderr; exit code 2. */
export async function reportUnknownCommand(id: string, config: Interfaces.Config): Promise<void> {
  const visible = config.commands.filter((c) => !c.hidden).map((c) => c.id)
  const unknown = unknownCommand(id, visible)
  const guess = closest(
    unknown,
    visible.map((c) => c.replaceAll(':', ' ')),
  )
  const hint = guess ? `${didYouMean(guess)} ` : ''
  await preparePaint(process.stderr)
  const p = paint(process.stderr)
  process.stderr.write(
    `${p.red('error')}: ${quote(unknown)} is not a ${config.bin} command (${hint}run \`${config.bin} help\` for the list)\n`,
  )
  process.exitCode = EXIT.usage
}

const hook: Hook.CommandNotFound = ({ id, config }) => reportUnknownCommand(id, config)

export default hook
