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
    '`run-job`: the run failed, timed out, was interrupted or was cancelled. Also an unexpected internal error (run again with `DEBUG=1`).',
  usage: 'A flag or argument is wrong: bad value, unknown job name, unknown run id, bad cron expression or time zone.',
  config: 'The config file is missing, does not load (syntax error, throws) or does not validate.',
  state:
    'The state file cannot be opened, read or written: missing folder, read-only, locked, corrupt, too new (or, to an inspecting command, too old: `crons state migrate` upgrades it).',
  busy: '`run-job`: the job is running in another process sharing the state file, and `--force` was not given. `cancel`: the process running the attempt has not acted on the request within `--wait` (the request stands).',
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

const HAND_WRITTEN = `## JSON output

\`--json\` prints the command's result as one JSON document on stdout (\`logs --follow --json\`: one object per
line). Every shape uses one vocabulary, the same an app gets from the library's views (\`jobView\`, \`attemptView\`,
\`statusView\`, \`configView\`):

- instants are ISO-8601 strings in UTC (\`2026-01-15T10:00:00.000Z\`): \`…At\`, \`slot\` (the scheduled instant a run
  serves), \`nextRun\` (a job's next scheduled instant), \`first\` and \`last\` (the first and last of the slots a record
  stands for);
- durations are whole milliseconds, named \`…Ms\`;
- \`description\` is always the job's own text from the config, \`scheduleInWords\` its schedule in plain English;
- a run (one attempt, or one skipped or missed record) has an \`id\`; other objects name it \`runId\`, and a process
  \`instanceId\`;
- a field with no value is \`null\`, never missing.

### Run (\`logs --json\`, one per attempt; a job's \`lastRun\`)

| Field | Type | Meaning |
| --- | --- | --- |
| \`id\` | number | The run's id (\`logs --run ID\`). |
| \`job\` | string | The job's name. |
| \`slot\` | instant | The scheduled instant this attempt serves (the moment of the request, for a manual run). |
| \`trigger\` | string | \`schedule\`, \`catch-up\` or \`manual\`. |
| \`attempt\` | number | 1 for the first attempt, 2 for the first retry… |
| \`status\` | string | \`running\`, \`succeeded\`, \`failed\`, \`timed_out\`, \`interrupted\`, \`cancelled\`, \`skipped\` or \`missed\`. |
| \`startedAt\` | instant | When the attempt started. |
| \`finishedAt\` | instant or null | When its outcome was recorded; null while running. |
| \`durationMs\` | number or null | \`finishedAt\` − \`startedAt\`; null while running. |
| \`durationUntil\` | string or null | \`finish\`, or \`last-heartbeat\` for a run whose process died: it ended at that process's last heartbeat (it ran at least that long). Text output marks it \`(until last heartbeat)\`. |
| \`error\` | object or null | \`{ message }\`: what went wrong, the whole message (the text table shows its first line). |
| \`reason\` | string or null | Why a slot was skipped, or which slots a \`missed\` record or \`catch-up\` run stands for. |

\`logs --run ID --json\` (and the library's \`run(id)\`) adds: \`error\` with \`stack\`, \`instanceId\`, \`active\` (the job's
code is still executing), \`result\` (the job's return value, as a value; text when it was cut at 4 KiB), \`output\`
(\`[{ at, level, text }]\`, what it wrote with \`ctx.log\`), \`detail\` (\`{ paused, count, first, last }\` for a record
that stands for slots: a \`missed\` record or a \`catch-up\` run, or with \`paused: true\` the \`skipped\` record of a paused
job's slots; otherwise the skip reason as text, or null) and \`missed\` (\`{ count, first, last }\` or null).

### Job (\`list-jobs --json\`, one per job)

| Field | Type | Meaning |
| --- | --- | --- |
| \`name\` | string | The job's name. |
| \`description\` | string or null | The job's own \`description\` from the config. |
| \`schedule\` | string or null | The schedule as written; null for a job only the state file knows. |
| \`scheduleInWords\` | string or null | The schedule in plain English. |
| \`zone\` | string or null | The IANA time zone the schedule is read in. |
| \`nextRun\` | instant or null | The next scheduled instant; null when it never fires again or is not configured. |
| \`lastRun\` | run or null | The latest attempt with an outcome, in the shape above. |
| \`tags\` | string[] | The job's tags. |
| \`paused\` | boolean | Paused with \`pause-job\`. |
| \`pausedAt\` | instant or null | Since when it is paused; null when it is not, or was paused before crons recorded it (schema version 4 and older). |
| \`disabled\` | boolean | \`enabled: false\` in the config: listed, never scheduled (\`nextRun\` is null). |
| \`removed\` | boolean | In the state file but no longer in the config. |
| \`command\` | string, string[] or null | A command job's command as written; null for a function job. |
| \`configDiffers\` | boolean | A live scheduler runs another version of the config than the file read (its \`configHash\` differs, see \`status\`): what it runs may differ from what is listed. The text output says so below the table. |

### Status (\`status --json\`)

| Field | Type | Meaning |
| --- | --- | --- |
| \`healthy\` | boolean | At least one scheduler is alive (the exit code says the same). |
| \`instances\` | object[] | Every scheduler sharing the state: \`{ id, host, pid, startedAt, heartbeatAt, heartbeatAgeMs, stoppedAt, alive, configHash, configDiffers, clockOffsetMs }\`. Each slot runs once among the alive ones. \`configHash\` is the fingerprint of the config the scheduler runs (null if it recorded none); \`configDiffers\` is true when an alive one runs another version than the file read, null when that cannot be told (not alive, no fingerprint); the text output has a \`config\` line then. \`clockOffsetMs\`: the database server's clock minus the instance's host clock, as last measured (null if unknown). |
| \`running\` | object[] | Attempts executing now: \`{ id, job, slot, trigger, attempt, status, startedAt, instanceId, host, pid }\`. |
| \`last24h\` | object | \`{ since, counts }\`: attempts started in the last 24 hours, by status. |
| \`nextDue\` | object or null | \`{ job, at, zone }\`: the next slot of a job that is not paused. |
| \`state\` | object | \`{ kind, path, exists, sizeBytes, schemaVersion }\`: \`kind\` is \`file\`, \`memory\` or \`postgres\`, as the config's \`state\` names it. |

### Config (\`config --json\`)

| Field | Type | Meaning |
| --- | --- | --- |
| \`configPath\` | string or null | The config file read. |
| \`state\` | sourced | \`{ value, source }\`: the state file, and where the value came from (\`flag\`, \`env\`, \`file\` or \`default\`). |
| \`timezone\` | sourced | The default time zone. |
| \`shutdownGraceMs\` | sourced | How long a stop waits for running jobs. |
| \`history\` | sourced | \`{ keepDays, keepRuns }\`. |
| \`jobs\` | object[] | Per job: \`name\`, \`description\`, \`kind\` (\`cron\`, \`every\` or \`at\`), \`schedule\`, \`scheduleInWords\`, \`zone\`, \`nextRun\`, \`timeoutMs\`, \`retry\` (\`{ max, backoff, initialMs, maxDelayMs, jitter }\`), \`overlap\`, \`catchUp\`, \`misfireGraceMs\`, \`jitterMs\`, \`tags\`, \`disabled\`, \`command\` (\`{ command, cwd, env, killGraceMs }\` with the names of the variables only, or null). |

### Other commands

| Command | Shape |
| --- | --- |
| \`run-job --json\` | \`{ job, runId, status, attempts, durationMs, error }\`: the run's last attempt as it was recorded; \`durationMs\` and \`error\` (\`{ message, stack }\`, \`stack\` null when there is none) are that attempt's, as \`logs --run ID --json\` gives them. |
| \`pause-job --json\`, \`resume-job --json\` | \`{ job, paused, changed, pausedAt }\`: \`pausedAt\` as in \`list-jobs --json\` (null once resumed). |
| \`cancel --json\` | The cancelled attempt, in the run shape above (\`status\` \`cancelled\`, \`error.message\` saying why). |
| \`next --json\` | An array of instants. |
| \`state backup --json\` | \`{ state, file, sizeBytes }\`. |
| \`state migrate --json\` | \`{ location, schema, from, to }\`: where the state is (a URL's password masked), its Postgres schema (null for a file), the schema version found (0: created now) and the version now. |
| \`start-scheduler --log-format json\` | One object per line: \`{ time, event, … }\`, instants as everywhere (\`slot:missed\` has \`missed\`: \`{ count, first, last }\`); the \`started\` line has \`configHash\` (the config's fingerprint), \`watch\` (\`--watch\` given), \`instanceId\`, \`peers\` (\`[{ id, host, pid }]\`, the other schedulers alive on the state) and \`jobs\` (\`[{ name, schedule, zone, nextRun, paused, pausedAt }]\`: \`paused\` and \`pausedAt\` as in \`list-jobs --json\`; a paused job's slots are skipped until \`resume-job\`, and the text summary says \`paused since …\` instead of its next run); a reload prints \`config:reloaded\` (\`{ added, removed, changed, unchanged, notApplied, configHash }\`: \`added\`, \`removed\` and \`changed\` list job names, \`unchanged\` counts the other jobs, \`notApplied\` has one line per setting not applied) or \`config:rejected\` (\`{ note, message }\`: the new config does not load or validate, the running one is kept); with \`--watch\`, \`config:restored\` (\`{ note }\`) says a rejected config's files were saved back to the version running. |

## Reading a state file

\`list-jobs\`, \`status\`, \`logs\` and \`state backup\` only read the state file, and the jobs they show are always the
state's own:

- With the config whose state it is (its \`state\` setting, or the default \`crons.db\` beside it), the config adds
  schedules, zones and next runs; jobs the state knows and the config no longer lists are shown as removed.
- With \`--state\` (or \`CRONS_STATE\`) and no config file found, the state is read alone: its jobs, their runs and
  paused flags, without schedules (\`schedule\`, \`zone\` and \`nextRun\` are null, \`removed\` is false).
- With \`--state\` (or \`CRONS_STATE\`) and a config that lists none of the jobs the state knows, the two belong to
  different projects: the state is read alone, as above, and a note on stderr says so. A config's jobs are never
  reported as the state's, and the state's jobs are never marked removed because of another project's config.

\`${BIN} state backup FILE\` copies a state file safely while schedulers run (see docs/storage.md).
\`${BIN} cancel RUN_ID\` needs only the state too: with \`--state\` (or \`CRONS_STATE\`) and no config file found, it
uses the state given.

## Errors

Every error is one line on stderr: \`error: <what is wrong, where, what was expected>\`, with the next step or a
"did you mean" in parentheses, and the exit code above. Config validation prints one more indented line per
problem, so every problem is reported at once.

## Colour, pipes and \`NO_COLOR\`

Colours and box-drawn tables are used only when stdout is a terminal. When output is piped or redirected,
tables are plain, space-aligned columns without ANSI escape codes, so \`grep\`, \`awk\` and \`diff\` work on them.
Set \`NO_COLOR\` (to any non-empty value) to turn colour off on a terminal too, or \`FORCE_COLOR=1\` to keep it in a
pipe. \`--json\` output never contains colour.

What a job wrote (an error message, an output line, a result, a reason) is printed without its terminal escape
sequences, on a terminal too, and any other control character but tab and newline shows as \`\\xNN\` (a NUL as
\`\\x00\`, a carriage return as \`\\x0d\`): a job cannot colour a pipe or redraw the terminal. \`--json\` gives the
text as stored.

Tables fit the terminal: when a table is wider than the terminal, its widest columns give way first and long
cells end in \`…\`; \`--wide\` shows every cell in full. A pipe has no width (every cell is whole) unless
\`COLUMNS\` is set. Rows are separated by a line only when a cell spans several lines.

Durations read the same everywhere: seconds under a minute (\`0.2s\`, \`12.3s\`), then two units (\`1m 30s\`,
\`2h 13m\`). Local times name their zone and its offset at that instant (\`2025-03-09 03:00:00 America/New_York
(UTC-04:00)\`, or \`2025-03-09 03:00:00 (UTC-04:00)\` beside a zone column), never an abbreviation such as \`GMT-3\`.

## Environment variables

| Variable | Effect |
| --- | --- |
| \`CRONS_CONFIG\` | Config file (or folder to search) when \`--config\` is not given. |
| \`CRONS_STATE\` | State file when \`--state\` is not given; overrides the config's \`state\`. |
| \`NO_COLOR\` | Non-empty: no colour, plain tables. |
| \`COLUMNS\` | The width tables fit when output is piped (a terminal's own width is used otherwise). |
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
$ ${BIN} nxt "0 3 * * *"
error: "nxt" is not a ${BIN} command (did you mean "next"? run \`${BIN} help\` for the list)
\`\`\`

The unknown command is named alone, whatever arguments follow it.

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
