/**
 * The shared base of every command: the global flags (--config, --state), `--json`, and the one way
 * errors reach the user — a single line on stderr (plus one line per problem for config validation,
 * and the next step), a stable exit code, and a stack trace only when DEBUG is set.
 */
import { Command, Flags } from '@oclif/core'
import type { ResolvedConfig } from '../config/types.js'
import { CronsError, isCronsError } from '../errors.js'
import { paint, preparePaint } from './output.js'

export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    config: Flags.string({
      char: 'c',
      description:
        'Config file (env: CRONS_CONFIG). Default: crons.config.ts, .mts, .js or .mjs in the current directory.',
      helpGroup: 'GLOBAL',
    }),
    state: Flags.string({
      description: "State file (env: CRONS_STATE). Default: the config's `state`, else ./crons.db beside the config.",
      helpGroup: 'GLOBAL',
    }),
  }

  protected override async init(): Promise<void> {
    await super.init()
    await Promise.all([preparePaint(process.stdout), preparePaint(process.stderr)])
  }

  /** Load and validate the config the global flags point at (flag > env > file > default). */
  protected async loadConfig(flags: { config?: string; state?: string }): Promise<ResolvedConfig> {
    const { resolveConfig } = await import('../config/loader.js')
    return resolveConfig({ configFlag: flags.config, stateFlag: flags.state, env: process.env, cwd: process.cwd() })
  }

  /**
   * Exit once oclif has printed the result, even if a job's code still holds the event loop (a
   * timed-out or interrupted job that ignores its signal): its outcome is already recorded.
   */
  protected exitWhenDone(): void {
    setTimeout(() => process.exit(), 100).unref()
  }

  /** Write one line to stdout, unless --json is on (then only the returned data is printed). */
  protected out(line = ''): void {
    if (!this.jsonEnabled()) process.stdout.write(`${line}\n`)
  }

  protected override async catch(error: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    // oclif's own exit() (e.g. from --help or --version) is not a failure to report.
    if (error.oclif?.exit !== undefined && error.message.startsWith('EEXIT')) {
      process.exitCode = error.oclif.exit
      return
    }
    // A flag error means parsing did start; without this oclif adds an "UnparsedCommand" warning
    // under NODE_ENV=development/test, breaking the one-line contract.
    this.parsed = true
    const crons = toCronsError(error)
    if (crons.code === 'FLAG_INVALID' && crons.suggestions.length === 0 && 'parse' in error) {
      crons.suggestions.push(`see \`${this.config.bin} ${this.id} --help\``)
    }
    const p = paint(process.stderr)
    // Suggestions stay on the error's line, so a single bad input always gives a single line.
    const hint = crons.suggestions.length > 0 ? ` (${crons.suggestions.join('; ')})` : ''
    const lines = [`${p.red('error')}: ${crons.message}${hint}`]
    for (const detail of crons.details) lines.push(`  ${detail}`)
    if (process.env.DEBUG) {
      const stack = (crons.cause instanceof Error ? crons.cause.stack : undefined) ?? crons.stack
      if (stack) lines.push(stack)
    }
    process.stderr.write(`${lines.join('\n')}\n`)
    process.exitCode = crons.exitCode
  }
}

/** oclif's parse errors span several lines; keep the first, which says what is wrong. */
export function toCronsError(error: unknown): CronsError {
  if (isCronsError(error)) return error
  const err = error instanceof Error ? error : new Error(String(error))
  const first = err.message.split('\n').find((line) => line.trim() !== '') ?? 'unknown error'
  // oclif's parser errors carry a `parse` property; anything else is unexpected.
  const parseError = 'parse' in err
  return new CronsError(parseError ? 'FLAG_INVALID' : 'INTERNAL', first.trim(), {
    cause: err,
    suggestions: parseError ? [] : ['run again with DEBUG=1 for the stack trace'],
  })
}
