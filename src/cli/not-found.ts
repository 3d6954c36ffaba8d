/**
 * oclif's command_not_found hook. An unknown command is a usage error like any other: one line on
 * stderr with the closest command, exit code 2, the same on a terminal and in a script (no prompt).
 */
import type { Hook } from '@oclif/core'
import { closest, didYouMean, EXIT, quote } from '../errors.js'
import { paint, preparePaint } from './output.js'

const hook: Hook.CommandNotFound = async ({ id, config }) => {
  const visible = config.commands.filter((c) => !c.hidden).map((c) => c.id)
  const guess = closest(id, visible)
  const hint = guess ? `${didYouMean(guess)} ` : ''
  await preparePaint(process.stderr)
  const p = paint(process.stderr)
  process.stderr.write(
    `${p.red('error')}: ${quote(id)} is not a ${config.bin} command (${hint}run \`${config.bin} help\` for the list)\n`,
  )
  process.exitCode = EXIT.usage
}

export default hook
