/**
 * `crons config` and config errors end to end: the resolved view and where each value came from
 * (flag > env > file > default), and the one-line-per-problem contract for bad configs (SEMANTICS §8).
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { ANSI, linesOf, runCli, tempDir, useBuiltCli } from './helpers.js'

useBuiltCli()

const FULL = `import { defineConfig } from 'cronsjs'

export default defineConfig({
  state: './data/state.db',
  timezone: 'Europe/Berlin',
  shutdownGrace: '5s',
  history: { keepDays: 7, keepRuns: 100 },
  jobs: [
    {
      name: 'backup',
      description: 'Nightly backup of the database',
      schedule: '0 3 * * *',
      tz: 'America/New_York',
      timeout: '10m',
      retry: { max: 2, backoff: 'linear', initial: '5s', maxDelay: '1m', jitter: 0.5 },
      overlap: 'allow',
      catchUp: true,
      misfireGrace: '2m',
      tags: ['db', 'nightly'],
      run: () => {},
    },
    { name: 'poll', every: '5m', run: () => {} },
  ],
})
`

/** Just jobs: everything else defaulted. */
const MINIMAL = `export default { jobs: [{ name: 'only', schedule: '@hourly', run() {} }] }\n`

function configIn(text: string, name = 'crons.config.ts'): string {
  return tempDir({ [name]: text })
}

async function configJson(args: string[], cwd: string, env: Record<string, string | undefined> = {}) {
  const r = await runCli(['config', '--json', ...args], { cwd, env })
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return JSON.parse(r.stdout)
}

describe.concurrent('crons config', () => {
  it('--json: files, every top-level value with its source, and each job fully resolved', async () => {
    const cwd = configIn(FULL)
    const before = Date.now()
    const view = await configJson([], cwd)
    const after = Date.now()
    expect(view).toEqual({
      configPath: path.join(cwd, 'crons.config.ts'),
      state: { value: path.join(cwd, 'data/state.db'), source: 'file' },
      timezone: { value: 'Europe/Berlin', source: 'file' },
      shutdownGraceMs: { value: 5000, source: 'file' },
      history: { value: { keepDays: 7, keepRuns: 100 }, source: 'file' },
      jobs: [
        {
          name: 'backup',
          kind: 'cron',
          schedule: '0 3 * * *',
          description: 'Nightly backup of the database',
          scheduleInWords: 'at 03:00 every day',
          zone: 'America/New_York',
          nextRun: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T0[78]:00:00\.000Z$/),
          timeoutMs: 600_000,
          retry: { max: 2, backoff: 'linear', initialMs: 5000, maxDelayMs: 60_000, jitter: 0.5 },
          overlap: 'allow',
          catchUp: true,
          misfireGraceMs: 120_000,
          jitterMs: 0,
          tags: ['db', 'nightly'],
          disabled: false,
          command: null,
        },
        {
          name: 'poll',
          kind: 'every',
          schedule: 'every 5m',
          description: null,
          scheduleInWords: 'every 5 minutes',
          zone: 'Europe/Berlin',
          nextRun: expect.any(String),
          timeoutMs: 0,
          retry: { max: 0, backoff: 'exponential', initialMs: 1000, maxDelayMs: 300_000, jitter: 0 },
          overlap: 'skip',
          catchUp: false,
          misfireGraceMs: 60_000,
          jitterMs: 0,
          tags: [],
          disabled: false,
          command: null,
        },
      ],
    })
    // Next fires are real: in the future, at most one period away.
    const backupNext = Date.parse(view.jobs[0].nextRun)
    expect(backupNext).toBeGreaterThan(before)
    expect(backupNext).toBeLessThanOrEqual(after + 25 * 3_600_000)
    const pollNext = Date.parse(view.jobs[1].nextRun)
    expect(pollNext % 300_000).toBe(0)
    expect(pollNext).toBeGreaterThan(before)
    expect(pollNext).toBeLessThanOrEqual(after + 300_000)
    // Reading the config writes nothing: no state file, not even its folder.
    expect(fs.existsSync(path.join(cwd, 'data'))).toBe(false)
  })

  it("shows the job's own description (docs/configuration.md: `description` is shown by `crons config`)", async () => {
    const cwd = configIn(FULL)
    const view = await configJson([], cwd)
    expect(JSON.stringify(view.jobs[0])).toContain('Nightly backup of the database')
    const human = await runCli(['config'], { cwd })
    expect(human.code).toBe(0)
    expect(human.stdout).toContain('Nightly backup of the database')
  })

  it('human output: plain text (no colour when piped), sources in parentheses, one table row per job', async () => {
    const cwd = configIn(FULL)
    const r = await runCli(['config'], { cwd })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).not.toMatch(ANSI)
    const lines = linesOf(r.stdout)
    expect(lines.slice(0, 5)).toEqual([
      `config file     ${path.join(cwd, 'crons.config.ts')}`,
      `state file      ${path.join(cwd, 'data/state.db')} (file)`,
      'timezone        Europe/Berlin (file)',
      'shutdown grace  5s (file)',
      'history         7 days, 100 runs per job (file)',
    ])
    // The job's own description has a column of its own ("-" when there is none), not an unheaded cell.
    expect(lines[5]).toMatch(
      /^job\s+description\s+schedule\s+zone\s+next run\s+timeout\s+retry\s+overlap\s+catch-up\s+tags$/,
    )
    expect(lines[6]).toMatch(
      /^backup\s+Nightly backup of the database\s+0 3 \* \* \* \(at 03:00 every day\)\s+America\/New_York\s+\d{4}-\d\d-\d\d 03:00:00 \(UTC-0[45]:00\) \(in [^)]+\)\s+10m\s+2× linear 5s\.\.1m\s+allow\s+yes\s+db, nightly$/,
    )
    expect(lines[6]?.indexOf('Nightly')).toBe(lines[5]?.indexOf('description'))
    expect(lines[7]).toMatch(
      /^poll\s+-\s+every 5m \(every 5 minutes\)\s+Europe\/Berlin\s+.+\s+none\s+none\s+skip\s+no$/,
    )
    expect(lines).toHaveLength(8)
  })

  it('defaults: state crons.db beside the config, the local zone, 30 s grace, 30 days / 10000 runs', async () => {
    const cwd = configIn(MINIMAL)
    const view = await configJson([], cwd, { TZ: 'Asia/Tokyo' })
    expect(view.state).toEqual({ value: path.join(cwd, 'crons.db'), source: 'default' })
    expect(view.timezone).toEqual({ value: 'Asia/Tokyo', source: 'default' })
    expect(view.shutdownGraceMs).toEqual({ value: 30_000, source: 'default' })
    expect(view.history).toEqual({ value: { keepDays: 30, keepRuns: 10_000 }, source: 'default' })
    expect(view.jobs).toHaveLength(1)
    expect(view.jobs[0]).toMatchObject({ name: 'only', schedule: '@hourly', zone: 'Asia/Tokyo', tags: [] })
  })

  it('state: --state beats CRONS_STATE beats the file beats the default', async () => {
    const root = tempDir({
      'withstate/crons.config.ts': `export default { state: './from-file.db', jobs: [] }\n`,
      'nostate/crons.config.ts': `export default { jobs: [] }\n`,
    })
    const cases: Array<[string, string[], Record<string, string>, { value: string; source: string }]> = [
      ['default', ['--config', 'nostate'], {}, { value: path.join(root, 'nostate/crons.db'), source: 'default' }],
      [
        'file (relative to the config file)',
        ['--config', 'withstate/crons.config.ts'],
        {},
        { value: path.join(root, 'withstate/from-file.db'), source: 'file' },
      ],
      [
        'env (relative to the cwd)',
        ['--config', 'withstate'],
        { CRONS_STATE: 'from-env.db' },
        { value: path.join(root, 'from-env.db'), source: 'env' },
      ],
      [
        'flag',
        ['--config', 'withstate', '--state', 'sub/../from-flag.db'],
        { CRONS_STATE: 'from-env.db' },
        { value: path.join(root, 'from-flag.db'), source: 'flag' },
      ],
      [
        'absolute flag',
        ['--config', 'withstate', '--state', '/var/tmp/abs.db'],
        {},
        { value: '/var/tmp/abs.db', source: 'flag' },
      ],
      [
        'empty env counts as unset',
        ['--config', 'nostate'],
        { CRONS_STATE: '' },
        {
          value: path.join(root, 'nostate/crons.db'),
          source: 'default',
        },
      ],
    ]
    const results = await Promise.all(cases.map(([, args, env]) => configJson(args, root, env)))
    cases.forEach(([name, , , expected], i) => {
      expect({ name, state: results[i].state }).toEqual({ name, state: expected })
    })
  })

  it('config file: --config beats CRONS_CONFIG beats the current folder; a folder is searched', async () => {
    const root = tempDir({
      'crons.config.ts': `export default { jobs: [{ name: 'in-cwd', schedule: '@daily', run() {} }] }\n`,
      'a/crons.config.ts': `export default { jobs: [{ name: 'from-a', schedule: '@daily', run() {} }] }\n`,
      'b/crons.config.mjs': `export default { jobs: [{ name: 'from-b', schedule: '@daily', run() {} }] }\n`,
    })
    const [cwdOnly, env, flag, folder] = await Promise.all([
      configJson([], root),
      configJson([], root, { CRONS_CONFIG: 'b/crons.config.mjs' }),
      configJson(['--config', 'a/crons.config.ts'], root, { CRONS_CONFIG: 'b/crons.config.mjs' }),
      configJson(['--config', 'b'], root),
    ])
    expect(cwdOnly.configPath).toBe(path.join(root, 'crons.config.ts'))
    expect(cwdOnly.jobs.map((j: { name: string }) => j.name)).toEqual(['in-cwd'])
    expect(env.configPath).toBe(path.join(root, 'b/crons.config.mjs'))
    expect(env.jobs.map((j: { name: string }) => j.name)).toEqual(['from-b'])
    expect(flag.configPath).toBe(path.join(root, 'a/crons.config.ts'))
    expect(flag.jobs.map((j: { name: string }) => j.name)).toEqual(['from-a'])
    expect(folder.configPath).toBe(path.join(root, 'b/crons.config.mjs'))
    // The state default follows the chosen config, not the cwd.
    expect(flag.state).toEqual({ value: path.join(root, 'a/crons.db'), source: 'default' })
  })

  it('"No jobs configured." for an empty job list', async () => {
    const cwd = configIn(`export default { jobs: [] }\n`)
    const r = await runCli(['config'], { cwd })
    expect(r.code).toBe(0)
    expect(linesOf(r.stdout).at(-1)).toBe('No jobs configured.')
  })
})

const INVALID = `export default {
  timezone: 'Mars/Olympus',
  jobs: [
    { name: 'a', schedule: '61 * * * *', run() {} },
    { name: 'a', schedule: '* * * * *', timeout: 'forever', run() {} },
    { name: 'c', shedule: '* * * * *', run() {} },
  ],
}
`

const INVALID_LINES = [
  'error: crons.config.ts: 5 problems in the config',
  '  crons.config.ts: timezone: unknown time zone "Mars/Olympus" (expected an IANA zone name such as "Europe/Berlin", "America/New_York" or "UTC")',
  '  crons.config.ts: job "a" (jobs[0]) schedule: minute 61 is out of range 0-59 in "61 * * * *"',
  '  crons.config.ts: job "a" (jobs[1]) name: duplicate job name "a" (already used by jobs[0]; names must be unique)',
  '  crons.config.ts: job "a" (jobs[1]) timeout: "forever" is not a duration (expected seconds as a number, or a string such as "500ms", "90s", "5m", "1h", "1d")',
  '  crons.config.ts: job "c" (jobs[2]): unknown key "shedule" (did you mean "schedule"?)',
]

/** A stack frame line. */
const FRAME = /^\s+at .+/m

describe.concurrent('config errors', () => {
  it('several validation problems: one line per problem, exit 3, no stack trace', async () => {
    const cwd = configIn(INVALID)
    for (const json of [false, true]) {
      const r = await runCli(['config', ...(json ? ['--json'] : [])], { cwd })
      expect(r.stdout).toBe('')
      expect(linesOf(r.stderr)).toEqual(INVALID_LINES)
      expect(r.stderr).not.toMatch(FRAME)
      expect(r.code).toBe(3)
    }
  })

  it('the same problems stop start-scheduler and run-job before anything is written', async () => {
    const cwd = configIn(INVALID)
    const [start, run] = await Promise.all([
      runCli(['start-scheduler'], { cwd, timeoutMs: 20_000 }),
      runCli(['run-job', 'a'], { cwd, timeoutMs: 20_000 }),
    ])
    for (const r of [start, run]) {
      expect(r.stdout).toBe('')
      expect(linesOf(r.stderr)).toEqual(INVALID_LINES)
      expect(r.code).toBe(3)
    }
    expect(fs.readdirSync(cwd)).toEqual(['crons.config.ts'])
  })

  it('DEBUG=1 adds the stack trace', async () => {
    const cwd = configIn(INVALID)
    const r = await runCli(['config'], { cwd, env: { DEBUG: '1' } })
    expect(r.code).toBe(3)
    expect(linesOf(r.stderr).slice(0, INVALID_LINES.length)).toEqual(INVALID_LINES)
    expect(r.stderr).toMatch(FRAME)
  })

  it('no config in the current folder: one line, exit 3', async () => {
    const cwd = tempDir()
    const r = await runCli(['config'], { cwd })
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      `error: no crons.config.ts, .mts, .js or .mjs in ${cwd} (pass --config PATH or set CRONS_CONFIG)\n`,
    )
    expect(r.code).toBe(3)
  })

  it('--config / CRONS_CONFIG naming a missing file: one line naming where it came from, exit 3', async () => {
    const cwd = tempDir()
    const [flag, env] = await Promise.all([
      runCli(['config', '--config', 'nope.ts'], { cwd }),
      runCli(['config'], { cwd, env: { CRONS_CONFIG: 'nope.ts' } }),
    ])
    expect(flag.stderr).toBe(
      `error: config file not found: nope.ts (from --config) (check --config; it is resolved against ${cwd})\n`,
    )
    expect(env.stderr).toBe(
      `error: config file not found: nope.ts (from CRONS_CONFIG) (check CRONS_CONFIG; it is resolved against ${cwd})\n`,
    )
    for (const r of [flag, env]) {
      expect(r.stdout).toBe('')
      expect(r.code).toBe(3)
    }
  })

  it('a syntax error names file:line:column, one line, exit 3', async () => {
    const cwd = configIn('export default {\n  jobs: [\n    { name: "x", schedule: "* * * * *" run() {} },\n  ],\n}\n')
    const r = await runCli(['config'], { cwd })
    expect(r.stdout).toBe('')
    expect(linesOf(r.stderr)).toHaveLength(1)
    expect(r.stderr).toMatch(/^error: crons\.config\.ts:3:\d+: \S.*\n$/)
    expect(r.code).toBe(3)
  })

  it('a syntax error in a module the config imports names that module', async () => {
    const cwd = tempDir({
      'crons.config.ts': `import { jobs } from './jobs/list.ts'\nexport default { jobs }\n`,
      'jobs/list.ts': `export const jobs = [\n  { name: 'x' schedule: '@daily', run() {} },\n]\n`,
    })
    const r = await runCli(['config'], { cwd })
    expect(r.stdout).toBe('')
    expect(linesOf(r.stderr)).toHaveLength(1)
    expect(r.stderr).toMatch(/^error: jobs\/list\.ts:2:\d+: \S.*\n$/)
    expect(r.code).toBe(3)
  })

  it('a config that throws, or exports the wrong shape: one line each, exit 3', async () => {
    const throws = configIn(`throw new Error('no DATABASE_URL set')\nexport default { jobs: [] }\n`)
    const named = configIn(`export const jobs = []\n`)
    const noJobs = configIn(`export default { jbos: [] }\n`)
    const [a, b, c] = await Promise.all([
      runCli(['config'], { cwd: throws }),
      runCli(['config'], { cwd: named }),
      runCli(['config'], { cwd: noJobs }),
    ])
    expect(a.stderr).toBe('error: crons.config.ts: the config threw while loading: no DATABASE_URL set\n')
    expect(b.stderr).toBe(
      'error: crons.config.ts: no default export (found only named exports (jobs)); expected export default defineConfig({ jobs: [...] })\n',
    )
    expect(c.stderr).toBe(
      'error: crons.config.ts: the config has no "jobs" array (found "jbos" — did you mean "jobs"?); expected export default defineConfig({ jobs: [...] })\n',
    )
    for (const r of [a, b, c]) {
      expect(r.stdout).toBe('')
      expect(r.code).toBe(3)
    }
  })
})
