#!/usr/bin/env node
/**
 * Writes docs/cli.md from the commands themselves, so the reference cannot drift from `--help`:
 * every command's summary, description, usage, arguments, flags and examples come from
 * oclif.manifest.json (written by `npm run build`), exit codes from EXIT in dist/errors.js. Only
 * the closing sections (colour, environment, completion, typos) are written by hand, below.
 *
 *   node scripts/cli-docs.mjs           write docs/cli.md
 *   node scripts/cli-docs.mjs --check   exit 1 if docs/cli.md is not what would be written
 *   node scripts/cli-docs.mjs --stdout  print instead of writing
 */
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = 'crons'
export const DOCS_FILE = path.join(ROOT, 'docs', 'cli.md')

/** What each EXIT code means to someone scripting `crons`. A new code without an entry fails the build of the docs. */
const EXIT_MEANINGS = {
  ok: 'Success.',
  runFailed:
    '`run-job`: the run failed, timed out or was interrupted. Also an unexpected internal error (run again with `DEBUG=1`).',
  usage: 'A flag or argument is wrong: bad value, unknown job name, unknown run id, bad cron expression or time zone.',
  config: 'The config file is missing, does not load (syntax error, throws) or does not validate.',
  state: 'The state file cannot be opened, read or written: missing folder, read-only, locked, corrupt, too new.',
  busy: '`run-job`: the job is running in another process sharing the state file, and `--force` was not given.',
  unhealthy: '`status`: no scheduler instance is alive.',
}

/** A description may name its env var as "(env: NAME)" when the flag reads it itself rather than through oclif. */
function envOf(flag) {
  if (flag.env) return flag.env
  return /\(env: ([A-Z][A-Z0-9_]*)\)/.exec(flag.description ?? '')?.[1]
}

const fill = (text) => String(text ?? '').replaceAll('<%= config.bin %>', BIN)
const cell = (text) => fill(text).trim().replaceAll('|', '\\|').replace(/\r?\n/g, '<br>')

function flagName(flag) {
  return flag.char ? `-${flag.char}, --${flag.name}` : `--${flag.name}`
}

function flagUsage(flag) {
  const name = flag.char ? `-${flag.char}` : `--${flag.name}`
  if (flag.type === 'boolean') return `[${name}]`
  const value = flag.options ? flag.options.join('|') : '<value>'
  return flag.required ? `${name} ${value}` : `[${name} ${value}]`
}

function visible(record) {
  return Object.values(record ?? {}).filter((item) => !item.hidden)
}

function usage(command) {
  const words = command.id.split(':').join(' ')
  if (command.usage) return [command.usage].flat().map((line) => `${BIN} ${fill(line)}`)
  const args = visible(command.args).map((arg) =>
    arg.required ? arg.name.toUpperCase() : `[${arg.name.toUpperCase()}]`,
  )
  const flags = visible(command.flags)
  const own = flags.filter((flag) => flag.helpGroup !== 'GLOBAL').map(flagUsage)
  const global = flags.filter((flag) => flag.helpGroup === 'GLOBAL').map(flagUsage)
  return [[BIN, words, ...args, ...own, ...global].join(' ')]
}

function flagTable(flags) {
  const lines = ['| Flag | Description | Default | Env |', '| --- | --- | --- | --- |']
  for (const flag of flags) {
    const options = flag.options ? ` One of: ${flag.options.map((o) => `\`${o}\``).join(', ')}.` : ''
    const fallback = flag.default === undefined || flag.default === false ? '' : `\`${cell(flag.default)}\``
    const env = envOf(flag)
    lines.push(
      `| \`${flagName(flag)}\` | ${cell(flag.description)}${options} | ${fallback} | ${env ? `\`${env}\`` : ''} |`,
    )
  }
  return lines
}

function examples(command) {
  const lines = []
  for (const example of command.examples ?? []) {
    const { description, command: line } = typeof example === 'string' ? { command: example } : example
    if (description) lines.push(`${fill(description)}:`, '')
    lines.push('```sh', fill(line), '```', '')
  }
  return lines
}

function anchor(id) {
  return `${BIN}-${id.replaceAll(':', '-')}`
}

function commandSection(command) {
  const title = `${BIN} ${command.id.split(':').join(' ')}`
  const lines = [`## \`${title}\``, '', fill(command.summary), '']
  if (command.description) lines.push(fill(command.description), '')
  lines.push('### Usage', '', '```sh', ...usage(command), '```', '')
  const args = visible(command.args)
  if (args.length > 0) {
    lines.push('### Arguments', '', '| Argument | Description |', '| --- | --- |')
    for (const arg of args) {
      const required = arg.required ? ' (required)' : ''
      lines.push(`| \`${arg.name.toUpperCase()}\` | ${cell(arg.description)}${required} |`)
    }
    lines.push('')
  }
  const flags = visible(command.flags)
  const own = flags.filter((flag) => flag.helpGroup !== 'GLOBAL')
  const global = flags.filter((flag) => flag.helpGroup === 'GLOBAL')
  if (own.length > 0) lines.push('### Flags', '', ...flagTable(own), '')
  if (global.length > 0) {
    const names = global.map((flag) => `\`--${flag.name}\``).join(', ')
    lines.push(`Global flags: ${names} (see [Global flags](#global-flags)).`, '')
  }
  if ((command.examples ?? []).length > 0) lines.push('### Examples', '', ...examples(command))
  return lines
}

/** The global flags, described once, from the first command that has each. */
function globalFlags(commands) {
  const seen = new Map()
  for (const command of commands) {
    for (const flag of visible(command.flags)) {
      if (flag.helpGroup === 'GLOBAL' && !seen.has(flag.name)) seen.set(flag.name, flag)
    }
  }
  const json = {
    name: 'json',
    type: 'boolean',
    description:
      'Print the result as JSON on stdout instead of text (on every command that returns data; not start-scheduler, which has --log-format json).',
  }
  if (seen.has('json')) seen.set('json', json)
  return ['## Global flags', '', ...flagTable([...seen.values()]), '']
}

function exitCodes(exit) {
  const missing = Object.keys(exit).filter((key) => !(key in EXIT_MEANINGS))
  if (missing.length > 0) {
    throw new Error(`scripts/cli-docs.mjs: describe exit code(s) ${missing.join(', ')} in EXIT_MEANINGS`)
  }
  const rows = Object.entries(exit)
    .sort(([, a], [, b]) => a - b)
    .map(([key, code]) => `| ${code} | ${EXIT_MEANINGS[key]} |`)
  return [
    '## Exit codes',
    '',
    'Stable across releases, so scripts and monitors can branch on them.',
    '',
    '| Code | Meaning |',
    '| --- | --- |',
    ...rows,
    '',
  ]
}

const HAND_WRITTEN = `## Errors

Every error is one line on stderr: \`error: <what is wrong, where, what was expected>\`, with the next step or a
"did you mean" in parentheses, and the exit code above. Config validation prints one more indented line per
problem, so every problem is reported at once.

## Colour, pipes and \`NO_COLOR\`

Colours and box-drawn tables are used only when stdout is a terminal. When output is piped or redirected,
tables are plain, space-aligned columns without ANSI escape codes, so \`grep\`, \`awk\` and \`diff\` work on them.
Set \`NO_COLOR\` (to any non-empty value) to turn colour off on a terminal too, or \`FORCE_COLOR=1\` to keep it in a
pipe. \`--json\` output never contains colour.

## Environment variables

| Variable | Effect |
| --- | --- |
| \`CRONS_CONFIG\` | Config file (or folder to search) when \`--config\` is not given. |
| \`CRONS_STATE\` | State file when \`--state\` is not given; overrides the config's \`state\`. |
| \`NO_COLOR\` | Non-empty: no colour, plain tables. |
| \`FORCE_COLOR\` | Non-empty and not \`0\`: colour even when piped. |
| \`DEBUG\` | Any value: errors also print their stack trace (and the cause's). \`DEBUG=*\` adds oclif's own debug output. |

Precedence for every setting is flag > environment > config file > default; \`${BIN} config\` shows where each
value came from.

## Shell completion

\`${BIN} autocomplete\` prints the set-up steps for your shell (\`bash\`, \`zsh\` or \`powershell\`; detected from
\`$SHELL\` when not given), for example:

\`\`\`sh
${BIN} autocomplete bash
printf "$(${BIN} autocomplete script bash)" >> ~/.bashrc; source ~/.bashrc
\`\`\`

Commands and flags then complete with <kbd>Tab</kbd>. After upgrading, \`${BIN} autocomplete --refresh-cache\`
picks up new commands and flags.

## Typos and "did you mean"

An unknown command is one line naming the closest command, the same on a terminal and in a script (no prompt),
with exit code 2:

\`\`\`
$ ${BIN} lgos
error: "lgos" is not a ${BIN} command (did you mean "logs"? run \`${BIN} help\` for the list)
\`\`\`

Unknown job names (such as \`run-job NAME\` or \`logs --job NAME\`) and unknown flag values (such
as \`logs --status\`) get a "did you mean" in the error line, with exit code 2.

\`${BIN} help [COMMAND]\` and \`${BIN} COMMAND --help\` show the same reference as this page.
`

/** The whole page, from a manifest and the EXIT table. Pure, so a test can compare it with the file. */
export function renderCliDocs(manifest, exit) {
  const commands = Object.values(manifest.commands)
    .filter((command) => !command.hidden)
    .sort((a, b) => a.id.localeCompare(b.id))
  const index = commands.map(
    (command) =>
      `| [\`${BIN} ${command.id.split(':').join(' ')}\`](#${anchor(command.id)}) | ${cell(command.summary)} |`,
  )
  const lines = [
    '# Command line reference',
    '',
    '<!-- Generated by scripts/cli-docs.mjs from the commands (oclif.manifest.json) and src/errors.ts.',
    '     Do not edit by hand: change the command, run `npm run build`, then `node scripts/cli-docs.mjs`. -->',
    '',
    `\`${BIN} COMMAND [ARGS] [FLAGS]\`. Every command prints its own help with \`--help\`.`,
    '',
    '| Command | What it does |',
    '| --- | --- |',
    ...index,
    `| \`${BIN} autocomplete [SHELL]\` | Set up shell completion (see [Shell completion](#shell-completion)). |`,
    `| \`${BIN} help [COMMAND]\` | Help for a command. |`,
    '',
    ...globalFlags(commands),
  ]
  for (const command of commands) lines.push(...commandSection(command))
  lines.push(...exitCodes(exit), HAND_WRITTEN)
  return `${lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`
}

/** The page for the current build. */
export async function generateCliDocs() {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8'))
  const { EXIT } = await import(pathToFileURL(path.join(ROOT, 'dist', 'errors.js')).href)
  return renderCliDocs(manifest, EXIT)
}

async function main(argv) {
  const text = await generateCliDocs()
  if (argv.includes('--stdout')) {
    process.stdout.write(text)
    return
  }
  if (argv.includes('--check')) {
    let current = ''
    try {
      current = readFileSync(DOCS_FILE, 'utf8')
    } catch {
      // A missing file is simply out of date.
    }
    if (current !== text) {
      process.stderr.write('docs/cli.md is out of date: run `npm run build && node scripts/cli-docs.mjs`\n')
      process.exitCode = 1
    }
    return
  }
  writeFileSync(DOCS_FILE, text)
  process.stdout.write(`wrote ${path.relative(process.cwd(), DOCS_FILE) || DOCS_FILE}\n`)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2))
}
