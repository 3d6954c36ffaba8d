/**
 * The CLI as a user's shell meets it: spawned `bin/run.js`, across every command. Help, typos,
 * colour in pipes and shell completion are oclif's and its plugins' job; these tests pin what crons
 * promises about them in docs/cli.md. They need `npm run build` first.
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '../..')
const BIN = path.join(ROOT, 'bin/run.js')
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for ANSI escapes is the point
const ANSI = /\u001b\[/

const CONFIG = `export default {
  timezone: 'UTC',
  jobs: [{ name: 'backup', schedule: '0 3 * * *', run: () => undefined }],
}
`

let dir: string
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-cli-'))
  fs.writeFileSync(path.join(dir, 'crons.config.ts'), CONFIG)
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * A user's shell, not vitest's: vitest sets NODE_ENV=test, FORCE_TTY and more, which change what
 * oclif and colour detection do. The autocomplete cache goes to a temp folder, not ~/.cache.
 */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'LANG', 'TMPDIR', 'SYSTEMROOT']
  const env: NodeJS.ProcessEnv = { CRONS_CACHE_DIR: path.join(dir, 'cache') }
  for (const key of keep) if (process.env[key] !== undefined) env[key] = process.env[key]
  return { ...env, ...extra }
}

/** `crons ...` with stdout and stderr piped (not a terminal). */
function crons(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: dir, encoding: 'utf8', env: userEnv(env) },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null
        resolve({ code, stdout, stderr })
      },
    )
  })
}

function commandIds(): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
    commands: Record<string, { hidden?: boolean }>
  }
  return Object.entries(manifest.commands)
    .filter(([, command]) => !command.hidden)
    .map(([id]) => id)
    .sort()
}

describe('every command', () => {
  it('--help exits 0 and shows USAGE, FLAGS and EXAMPLES, without colour in a pipe', async () => {
    const ids = commandIds()
    expect(ids).toEqual(expect.arrayContaining(['config', 'logs', 'next', 'run-job', 'start-scheduler']))
    const results = await Promise.all(ids.map((id) => crons([...id.split(':'), '--help'])))
    results.forEach((result, i) => {
      const id = ids[i]
      expect(result.code, id).toBe(0)
      expect(result.stdout, id).toContain('USAGE')
      expect(result.stdout, id).toContain(`$ crons ${(id ?? '').replaceAll(':', ' ')}`)
      expect(result.stdout, id).toContain('EXAMPLES')
      expect(result.stdout, id).not.toMatch(ANSI)
    })
  })

  it('crons --help lists the commands and ends with examples of the common ones', async () => {
    for (const args of [['--help'], ['help'], []]) {
      const result = await crons(args)
      expect(result.code, args.join(' ')).toBe(0)
      expect(result.stdout).toContain('COMMANDS')
      const examples = result.stdout.slice(result.stdout.indexOf('EXAMPLES'))
      expect(examples).toMatch(/^EXAMPLES\n {2}Run the scheduler/)
      for (const id of ['start-scheduler', 'list-jobs', 'run-job', 'logs', 'next'])
        expect(examples).toContain(`$ crons ${id}`)
      expect(result.stdout).not.toMatch(ANSI)
    }
  })

  it('the state topic is described as a whole, not by the summary of one of its commands', async () => {
    const result = await crons(['--help'])
    const topics = result.stdout.slice(result.stdout.indexOf('TOPICS'), result.stdout.indexOf('COMMANDS'))
    expect(topics.replace(/\s+/g, ' ')).toContain('state Look after the state file: back it up while schedulers run')
    const backup = await crons(['state', 'backup', '--help'])
    expect(topics).not.toContain(backup.stdout.split('\n')[0]?.slice(0, 30))
  })
})

describe('unknown commands', () => {
  it('is one line with the closest command and exit 2, with or without a terminal (no prompt)', async () => {
    const result = await crons(['lgos'])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe(
      'error: "lgos" is not a crons command (did you mean "logs"? run `crons help` for the list)\n',
    )
  })

  it('names the unknown command alone, whatever arguments follow it', async () => {
    for (const args of [
      ['nxt', '0 3 * * *'],
      ['nxt', '0 3 * * *', '--tz', 'UTC'],
      ['lsit-jobs', 'a', 'b:c'],
    ]) {
      const result = await crons(args)
      expect(result.code).toBe(2)
      const [word] = args
      const guess = word === 'nxt' ? 'next' : 'list-jobs'
      expect(result.stderr).toBe(
        `error: "${word}" is not a crons command (did you mean "${guess}"? run \`crons help\` for the list)\n`,
      )
    }
  })

  it('a subcommand typed wrong under a known topic is named with its topic', async () => {
    const result = await crons(['state', 'bakup', 'copy.db'])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe(
      'error: "state bakup" is not a crons command (did you mean "state backup"? run `crons help` for the list)\n',
    )
  })

  it('crons help with an unknown command says so in the same one line, exit 2', async () => {
    const result = await crons(['help', 'lgos'])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe(
      'error: "lgos" is not a crons command (did you mean "logs"? run `crons help` for the list)\n',
    )
    const topic = await crons(['help', 'state', 'bakup'])
    expect(topic.code).toBe(2)
    expect(topic.stderr).toMatch(/^error: "state bakup" is not a crons command \(did you mean "state backup"\?/)
    const known = await crons(['help', 'state', 'backup'])
    expect(known.code).toBe(0)
    expect(known.stdout).toContain('$ crons state backup')
  })

  it('-v prints the version, as --version does', async () => {
    const result = await crons(['-v'])
    expect(result.code).toBe(0)
    expect(result.stdout).toBe((await crons(['--version'])).stdout)
    expect(result.stdout).toMatch(/^cronsjs\/\d+\.\d+\.\d+ /)
  })

  it('with nothing close, still points to help', async () => {
    const result = await crons(['frobnicate'])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe('error: "frobnicate" is not a crons command (run `crons help` for the list)\n')
  })

  it('an unknown flag is a one-line usage error (exit 2)', async () => {
    const result = await crons(['logs', '--colour'])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe('error: unknown flag --colour (see `crons logs --help`)\n')
  })
})

/**
 * [argv, the one stderr line]. oclif's parser errors (a flag without its value, a missing or extra
 * argument, a value not among a flag's options, an unknown flag) are bad input like any other: one
 * line naming the flag or argument, a pointer to the command's help, exit 2, nothing on stdout.
 */
const PARSE_ERRORS: [string[], string][] = [
  [['logs', '--status'], 'error: missing value for --status (see `crons logs --help`)'],
  [['logs', '-s'], 'error: missing value for --status (see `crons logs --help`)'],
  [['logs', '--job'], 'error: missing value for --job (see `crons logs --help`)'],
  [['logs', '--job', '--json'], 'error: missing value for --job (see `crons logs --help`)'],
  [['run-job', 'backup', '--timeout'], 'error: missing value for --timeout (see `crons run-job --help`)'],
  [['next', '* * * * *', '--tz'], 'error: missing value for --tz (see `crons next --help`)'],
  [['list-jobs', '--config'], 'error: missing value for --config (see `crons list-jobs --help`)'],
  [
    ['start-scheduler', '--log-format'],
    'error: missing value for --log-format (expected one of text, json) (see `crons start-scheduler --help`)',
  ],
  [
    ['start-scheduler', '--log-format', 'jsno'],
    'error: --log-format "jsno" is not valid (expected one of text, json) (did you mean "json"? see `crons start-scheduler --help`)',
  ],
  [
    ['start-scheduler', '--log-format', 'xml'],
    'error: --log-format "xml" is not valid (expected one of text, json) (see `crons start-scheduler --help`)',
  ],
  [['run-job'], 'error: missing argument NAME (see `crons run-job --help`)'],
  [['run-job', '--json'], 'error: missing argument NAME (see `crons run-job --help`)'],
  [['pause-job'], 'error: missing argument NAME (see `crons pause-job --help`)'],
  [['resume-job'], 'error: missing argument NAME (see `crons resume-job --help`)'],
  [['run-job', 'backup', 'extra'], 'error: unexpected argument "extra" (see `crons run-job --help`)'],
  [
    ['logs', '--limit', '1', '--limit', '2'],
    'error: --limit is given more than once (expected it once) (see `crons logs --help`)',
  ],
  [['logs', '--jsno'], 'error: unknown flag --jsno (did you mean "--json"? see `crons logs --help`)'],
  [['status', '--x', '--y'], 'error: unknown flags --x, --y (see `crons status --help`)'],
  // start-scheduler prints lines rather than one result, so its JSON is a log format.
  [
    ['start-scheduler', '--json'],
    'error: unknown flag --json (use --log-format json; see `crons start-scheduler --help`)',
  ],
]

describe('bad flags and arguments', () => {
  it('--heartbeat is checked against the lease of the kind of state: 10 s on PostgreSQL, 30 s for a file', async () => {
    // Refused before anything connects: the URL names a port nothing listens on.
    const pg = await crons(['start-scheduler', '--heartbeat', '8s', '--state', 'postgres://crons@127.0.0.1:1/app'])
    expect({ code: pg.code, stdout: pg.stdout, stderr: pg.stderr }).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: --instance-ttl 10s is shorter than two heartbeats (8s each); expected at least 16s\n',
    })
    const file = await crons(['start-scheduler', '--heartbeat', '20s'])
    expect(file.stderr).toBe(
      'error: --instance-ttl 30s is shorter than two heartbeats (20s each); expected at least 40s\n',
    )
  })

  it.each(PARSE_ERRORS)('crons %j: one line on stderr, exit 2', async (args, line) => {
    const result = await crons(args)
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
      code: 2,
      stdout: '',
      stderr: `${line}\n`,
    })
  })

  it('is still one line in a development shell, and DEBUG adds the stack', async () => {
    const dev = await crons(['logs', '--status'], { NODE_ENV: 'development' })
    expect([dev.code, dev.stderr]).toEqual([2, 'error: missing value for --status (see `crons logs --help`)\n'])
    const debug = await crons(['logs', '--status'], { DEBUG: '1' })
    expect(debug.code).toBe(2)
    expect(debug.stderr).toMatch(/^error: missing value for --status \(see `crons logs --help`\)\nError: Flag --status/)
  })
})

describe('colour', () => {
  // A table (next), a report (config) and a listing (logs): all plain when piped.
  const COMMANDS = [['next', '0 3 * * *', '--tz', 'UTC', '--count', '2'], ['config'], ['logs']]

  it('piped output has no ANSI escapes', async () => {
    for (const args of COMMANDS) {
      const result = await crons(args)
      expect(result.code, args.join(' ')).toBe(0)
      expect(result.stdout.length, args.join(' ')).toBeGreaterThan(0)
      expect(result.stdout, args.join(' ')).not.toMatch(ANSI)
    }
  })

  it('NO_COLOR=1 wins even over FORCE_COLOR; FORCE_COLOR alone colours a pipe', async () => {
    const forced = await crons(['next', '0 3 * * *', '--tz', 'UTC'], { FORCE_COLOR: '1' })
    expect(forced.stdout).toMatch(ANSI)
    for (const args of COMMANDS) {
      const result = await crons(args, { NO_COLOR: '1', FORCE_COLOR: '1' })
      expect(result.code, args.join(' ')).toBe(0)
      expect(result.stdout, args.join(' ')).not.toMatch(ANSI)
    }
    const error = await crons(['logs', '--status', 'nope'], { NO_COLOR: '1' })
    expect(error.stderr).toMatch(/^error: --status "nope" is not valid/)
    expect(error.stderr).not.toMatch(ANSI)
  })
})

describe('shell completion', () => {
  it('`crons autocomplete bash` prints the set-up steps and exits 0', async () => {
    const result = await crons(['autocomplete', 'bash'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('Setup Instructions for CRONS CLI Autocomplete')
    expect(result.stdout).toContain('printf "$(crons autocomplete script bash)" >> ~/.bashrc')
    expect(result.stdout).not.toMatch(ANSI)
  })

  it('`crons autocomplete script bash` prints a script that sources the completion cache', async () => {
    const result = await crons(['autocomplete', 'script', 'bash'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('CRONS_AC_BASH_SETUP_PATH')
  })
})
