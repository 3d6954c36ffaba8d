/**
 * The base of every command: the global flags, `--json`, and the one way errors reach the user — one
 * line on stderr (plus one per validation problem), a stable exit code, a stack only with DEBUG.
 */
import { Command, Errors, Flags, type Interfaces } from '@oclif/core'
import type { ResolvedConfig } from '../config/types.js'
import { CronsError, isCronsError, quote, suggestClosest } from '../errors.js'
import { divertStdout, paint, preparePaint, stripAnsi } from './output.js'
import type { Reading } from './reading.js'

/** What oclif's parser returns for flags and arguments (its own `FlagOutput` is not exported). */
type Output = { [name: string]: unknown }

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
      description:
        "State file or postgres:// URL (env: CRONS_STATE). Default: the config's `state`, else ./crons.db beside the config.",
      helpGroup: 'GLOBAL',
    }),
  }

  protected override async init(): Promise<void> {
    await super.init()
    await Promise.all([preparePaint(process.stdout), preparePaint(process.stderr)])
  }

  /** oclif's parser, with each of its errors turned into one usage error worded like the others. */
  protected override async parse<F extends Output, B extends Output, A extends Output>(
    options?: Interfaces.Input<F, B, A>,
    argv?: string[],
  ): Promise<Interfaces.ParserOutput<F, B, A>> {
    try {
      return await super.parse(options, argv)
    } catch (error) {
      throw error instanceof Errors.CLIError ? parseError(error, this.parseContext()) : error
    }
  }

  private parseContext(): ParseContext {
    const flags = { ...this.ctor.baseFlags, ...this.ctor.flags }
    return {
      bin: this.config.bin,
      id: this.id ?? '',
      flags: [...Object.keys(flags), ...(this.ctor.enableJsonFlag ? ['json'] : [])],
    }
  }

  /** The config the global flags point at (flag > env > file > default), validated. */
  protected async loadConfig(
    flags: { config?: string; state?: string },
    options: { hash?: boolean } = {},
  ): Promise<ResolvedConfig> {
    const { resolveConfig } = await import('../config/loader.js')
    // The config is user code: with --json, what it prints as it loads must not land before the JSON.
    const restoreStdout = this.jsonEnabled() ? divertStdout() : undefined
    try {
      return await resolveConfig({
        configFlag: flags.config,
        stateFlag: flags.state,
        env: process.env,
        cwd: process.cwd(),
        hash: options.hash ?? false,
      })
    } finally {
      restoreStdout?.()
    }
  }

  /** The config; with --state (or CRONS_STATE) and no config file, one naming that state alone (reading.ts). */
  protected async configOrStateAlone(flags: { config?: string; state?: string }): Promise<ResolvedConfig> {
    const { configOrStateAlone } = await import('./reading.js')
    return (await configOrStateAlone(() => this.loadConfig(flags), flags)).config
  }

  /** The config and its state, read-only (reading.ts); why the state is read alone goes to stderr. */
  protected async openForReading(
    flags: { config?: string; state?: string },
    options: { hash?: boolean } = {},
  ): Promise<Reading> {
    const { openForReading } = await import('./reading.js')
    const reading = await openForReading(() => this.loadConfig(flags, options), flags)
    this.note(reading.note)
    return reading
  }

  /** Why the state is read as it is, on stderr. */
  protected note(text: string | undefined): void {
    if (text !== undefined) process.stderr.write(`${paint(process.stderr).dim(`note: ${text}`)}\n`)
  }

  /** Exit once oclif has printed the result, even if a job that ignored its signal holds the event loop. */
  protected exitWhenDone(): void {
    setTimeout(() => process.exit(), 100).unref()
  }

  /** One line to stdout, unless --json is on (then only the returned data is printed). */
  protected out(line = ''): void {
    if (!this.jsonEnabled()) process.stdout.write(`${line}\n`)
  }

  protected override async catch(error: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<void> {
    // oclif's own exit() (--help, --version) is not a failure.
    if (error.oclif?.exit !== undefined && error.message.startsWith('EEXIT')) {
      process.exitCode = error.oclif.exit
      return
    }
    // Parsing did start: else oclif adds an "UnparsedCommand" warning (NODE_ENV=development/test).
    this.parsed = true
    const crons =
      'parse' in error && !isCronsError(error) ? parseError(error, this.parseContext()) : toCronsError(error)
    const p = paint(process.stderr)
    // Suggestions stay on the error's line: `(did you mean "json"? see ...)`, else `(use ...; see ...)`.
    const hint = crons.suggestions
      .map((s) => asSuggestion(crons, s))
      .reduce((text, s) => (text === '' ? s : `${text}${text.endsWith('?') ? ' ' : '; '}${s}`), '')
    const lines = [`${p.red('error')}: ${crons.message}${hint === '' ? '' : ` (${hint})`}`]
    for (const detail of crons.details) lines.push(`  ${detail}`)
    if (process.env.DEBUG) {
      const stack = (crons.cause instanceof Error ? crons.cause.stack : undefined) ?? crons.stack
      if (stack) lines.push(stack)
    }
    process.stderr.write(`${lines.join('\n')}\n`)
    process.exitCode = crons.exitCode
  }
}

/** The schedule module suggests bare candidates ("@daily", "Europe/Berlin"): they read as a did-you-mean. */
function asSuggestion(error: CronsError, suggestion: string): string {
  const candidate = (error.code === 'SCHEDULE_INVALID' || error.code === 'ZONE_UNKNOWN') && !/\s/.test(suggestion)
  return candidate ? `did you mean ${quote(suggestion)}?` : suggestion
}

/** Anything that is not already a `CronsError` is unexpected: its first line, and how to see more. */
export function toCronsError(error: unknown): CronsError {
  if (isCronsError(error)) return error
  const err = error instanceof Error ? error : new Error(String(error))
  const first = err.message.split('\n').find((line) => line.trim() !== '') ?? 'unknown error'
  return new CronsError('INTERNAL', first.trim(), {
    cause: err,
    suggestions: ['run again with DEBUG=1 for the stack trace'],
  })
}

interface ParseContext {
  bin: string
  id: string
  /** Every flag the command accepts, for "did you mean". */
  flags: string[]
}

type Reworded = { message: string; suggestions?: string[] }

type ParserError = Error & { args?: unknown; flags?: unknown }

/** oclif's parser messages (first line), each reworded to name the flag and what was expected; first match wins. */
const REWORDINGS: [RegExp, (match: RegExpExecArray, error: ParserError, context: ParseContext) => Reworded][] = [
  [
    /^Missing \d+ required args?\b/,
    (_, error) => {
      const args = Array.isArray(error.args) ? error.args : []
      const names = args.map((arg) => ((arg as { name?: string }).name ?? '').toUpperCase())
      return { message: `missing argument${names.length === 1 ? '' : 's'} ${names.join(', ')}` }
    },
  ],
  [
    /^Unexpected arguments?: (.*)$/,
    (match, error) => {
      const extra = Array.isArray(error.args) ? error.args.map(String) : [match[1] ?? '']
      return { message: `unexpected argument${extra.length === 1 ? '' : 's'} ${extra.map((a) => quote(a)).join(', ')}` }
    },
  ],
  [
    /^Nonexistent flags?: (.*)$/,
    (match, error, context) => {
      const unknown = Array.isArray(error.flags) ? error.flags.map(String) : (match[1] ?? '').split(', ')
      const message = `unknown flag${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}`
      if (unknown.length !== 1) return { message }
      const name = (unknown[0] ?? '').replace(/^-+/, '').split('=')[0] ?? ''
      // start-scheduler prints lines, not one result: its JSON is a log format.
      if (name === 'json' && context.flags.includes('log-format')) {
        return { message, suggestions: ['use --log-format json'] }
      }
      return { message, suggestions: suggestClosest(name, context.flags, (flag) => `--${flag}`) }
    },
  ],
  [/^Flag --(\S+) expects a value$/, (match) => ({ message: `missing value for --${match[1]}` })],
  [
    /^Flag --(\S+) expects one of these values: (.*)$/,
    (match) => ({ message: `missing value for --${match[1]} (expected one of ${match[2]})` }),
  ],
  [
    /^Expected --([^=\s]+)=(.*) to be one of: (.*)$/,
    (match) => {
      const [, name = '', value = '', options = ''] = match
      return {
        message: `--${name} ${quote(value)} is not valid (expected one of ${options})`,
        suggestions: suggestClosest(value, options.split(', ')),
      }
    },
  ],
  [
    /^Flag --(\S+) can only be specified once$/,
    (match) => ({ message: `--${match[1]} is given more than once (expected it once)` }),
  ],
  [
    // Flag relationships (required, exclusive, dependsOn): one reason per indented line.
    /^The following errors? occurred:$/,
    (match, error) => {
      const reasons = stripAnsi(error.message)
        .split('\n')
        .slice(1)
        .map((line) => line.trim())
        .filter((line) => line !== '' && line !== 'See more help with --help')
      return { message: reasons.join('; ') || match[0] }
    },
  ],
]

/** One of oclif's parser errors as a one-line usage error (exit 2); an unknown shape keeps its first line. */
export function parseError(error: ParserError, context: ParseContext): CronsError {
  const first = stripAnsi(error.message).split('\n')[0]?.trim() ?? ''
  let reworded: Reworded = { message: first }
  for (const [pattern, reword] of REWORDINGS) {
    const match = pattern.exec(first)
    if (match) {
      reworded = reword(match, error, context)
      break
    }
  }
  const message = reworded.message.charAt(0).toLowerCase() + reworded.message.slice(1)
  const suggestions = [...(reworded.suggestions ?? []), `see \`${context.bin} ${context.id} --help\``]
  return new CronsError('FLAG_INVALID', message, { cause: error, suggestions })
}
