/**
 * Validation and resolution of command jobs (`command`, `cwd`, `env`, `killGrace`) and of
 * `enabled: false`: one line per problem with the job's path, and what the engine receives.
 */
import { describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../src/config/defaults.js'
import { DURATION_EXPECTED } from '../../src/config/duration.js'
import type { JobContext } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { FakeClock } from '../../src/core/clock.js'
import { Scheduler } from '../../src/core/scheduler.js'
import { CronsError } from '../../src/errors.js'
import { openStore } from '../../src/store/index.js'
import type { Store } from '../../src/store/types.js'

const FILE = 'crons.config.ts'
const JOB = `${FILE}: job "backup" (jobs[0])`
const ONE_OF = '(expected exactly one of "run" (a function) or "command" (a command line or an argv array))'
const COMMAND_EXPECTED =
  'a command line such as "pg_dump mydb > db.sql", or an argv array such as ["node", "script.js"]'
const run = () => undefined

function problems(job: Record<string, unknown>): string[] {
  try {
    validateConfig(
      { timezone: 'UTC', jobs: [{ name: 'backup', schedule: '0 3 * * *', ...job }] },
      { file: FILE, configDir: '/project' },
    )
  } catch (error) {
    if (error instanceof CronsError && error.code === 'CONFIG_INVALID') return error.details
    throw error
  }
  throw new Error('expected CONFIG_INVALID')
}

describe('validateConfig: command jobs and enabled', () => {
  it.each([
    [{ run, command: 'echo hi' }, `${JOB}: both "run" and "command" are set ${ONE_OF}`],
    [{}, `${JOB}: no "run" or "command" ${ONE_OF}`],
    [{ comand: 'echo hi' }, `${JOB}: unknown key "comand" (did you mean "command"?)`],
    [{ command: '  ' }, `${JOB} command: expected ${COMMAND_EXPECTED}, got "  "`],
    [{ command: 42 }, `${JOB} command: expected ${COMMAND_EXPECTED}, got 42`],
    [
      { command: [] },
      `${JOB} command: an empty argv array (expected the program and its arguments, such as ["node", "script.js"])`,
    ],
    [{ command: ['node', 3] }, `${JOB} command: argv[1] is 3 (expected every argument to be a string)`],
    [{ command: [''] }, `${JOB} command: argv[0] is empty (expected the program to run)`],
    [{ command: 'x', cwd: 3 }, `${JOB} cwd: expected a folder path, got 3`],
    [
      { command: 'x', env: { PORT: 5432 } },
      `${JOB} env: "PORT" is 5432 (expected a string: environment variables are text)`,
    ],
    [
      { command: 'x', env: 'PORT=1' },
      `${JOB} env: expected an object of variable names to strings, such as { PGHOST: "db" }, got "PORT=1"`,
    ],
    [{ command: 'x', killGrace: 'soon' }, `${JOB} killGrace: "soon" is not a duration (${DURATION_EXPECTED})`],
    [{ run, cwd: 'sub' }, `${JOB} cwd: only a command job takes "cwd" (this job has no "command")`],
    [{ run, env: {} }, `${JOB} env: only a command job takes "env" (this job has no "command")`],
    [{ run, killGrace: 1 }, `${JOB} killGrace: only a command job takes "killGrace" (this job has no "command")`],
    [{ run, enabled: 'no' }, `${JOB} enabled: expected true or false, got "no"`],
    [
      { run: ['pg_dump', 'db'] },
      `${JOB} run: expected a function, got ["pg_dump","db"] (a command to run goes in "command")`,
    ],
  ])('%j', (job, line) => {
    expect(problems(job)).toEqual([line])
  })

  it('refuses text no program can be given: a NUL byte in argv, command line, cwd or env, an env name empty or with "="', () => {
    const nul = (what: string, text: string) =>
      `${what} has a NUL byte: ${JSON.stringify(text)} (expected text without one: the system cuts what it passes to a program at a NUL byte)`
    const name = (text: string) =>
      `${JSON.stringify(text)} is not a variable name (expected a non-empty name without "=", such as PGHOST)`
    expect(problems({ command: ['pg_dump', 'shop\0'] })).toEqual([`${JOB} command: ${nul('argv[1]', 'shop\0')}`])
    expect(problems({ command: 'pg_dump shop\0 > db.sql' })).toEqual([
      `${JOB} command: ${nul('the command line', 'pg_dump shop\0 > db.sql')}`,
    ])
    expect(problems({ command: 'x', cwd: '/srv\0/app', env: { PGHOST: 'db\0' } })).toEqual([
      `${JOB} cwd: ${nul('the folder path', '/srv\0/app')}`,
      `${JOB} env: ${nul('the value of "PGHOST"', 'db\0')}`,
    ])
    expect(problems({ command: 'x', env: { 'A\0': '1' } })).toEqual([`${JOB} env: ${nul('the variable name', 'A\0')}`])
    expect(problems({ command: 'x', env: { '': '1' } })).toEqual([`${JOB} env: ${name('')}`])
    expect(problems({ command: 'x', env: { 'PGHOST=db': '1' } })).toEqual([`${JOB} env: ${name('PGHOST=db')}`])
  })

  it('reports every problem of a command job at once, each on its line', () => {
    expect(problems({ run, command: ['node', 1], env: { A: 1 } })).toEqual([
      `${JOB}: both "run" and "command" are set ${ONE_OF}`,
      `${JOB} command: argv[1] is 1 (expected every argument to be a string)`,
      `${JOB} env: "A" is 1 (expected a string: environment variables are text)`,
    ])
  })
})

describe('validateConfig: resolving command jobs and enabled', () => {
  const resolve = (jobs: Record<string, unknown>[]) =>
    validateConfig(
      { timezone: 'UTC', jobs: jobs.map((job, i) => ({ name: `job${i}`, schedule: '0 3 * * *', ...job })) },
      { file: FILE, configDir: '/project' },
    ).jobs

  it('resolves cwd against the config folder (default: that folder), env and killGrace', () => {
    const [shell, argv, plain] = resolve([
      { command: 'pg_dump db > db.sql', cwd: 'backups', env: { PGHOST: 'db' }, killGrace: '30s' },
      { command: ['node', 'report.js'] },
      { run },
    ])
    expect(shell?.command).toEqual({
      command: 'pg_dump db > db.sql',
      cwd: '/project/backups',
      env: { PGHOST: 'db' },
      killGraceMs: 30_000,
    })
    expect(argv?.command).toEqual({
      command: ['node', 'report.js'],
      cwd: '/project',
      env: {},
      killGraceMs: DEFAULTS.job.killGraceMs,
    })
    expect(typeof shell?.run).toBe('function')
    expect(plain).not.toHaveProperty('command')
    expect(plain?.run).toBe(run)
  })

  it('keeps a disabled job in the config, flagged', () => {
    const jobs = resolve([{ run }, { run, enabled: false }, { command: 'true', enabled: true }])
    expect(jobs.map((job) => [job.name, job.enabled])).toEqual([
      ['job0', true],
      ['job1', false],
      ['job2', true],
    ])
  })

  it('still validates a disabled job: it can be enabled at any time', () => {
    expect(problems({ run, enabled: false, tz: 'Nowhere/Land' })).toHaveLength(1)
  })
})

describe('a disabled job in the scheduler', () => {
  const T0 = Date.parse('2026-01-01T00:00:00Z')

  async function scheduler(store: Store, clock: FakeClock, enabled: boolean, fired: number[]) {
    const config = validateConfig({
      timezone: 'UTC',
      jobs: [
        {
          name: 'minutely',
          every: '1m',
          enabled,
          run: (ctx: JobContext) => void fired.push(ctx.scheduledAt.getTime()),
        },
      ],
    })
    return new Scheduler(config, { clock, store, random: () => 0 })
  }

  it('is never fired nor run by the scheduler; enabled again, its disabled stretch counts as missed slots', async () => {
    const store = await openStore(':memory:')
    const clock = new FakeClock(T0)
    const fired: number[] = []
    const first = await scheduler(store, clock, true, fired)
    await first.start()
    await clock.advance(60_000)
    await first.stop({ graceMs: 0 })
    expect(fired).toEqual([T0 + 60_000])

    const off = await scheduler(store, clock, false, fired)
    expect(off.list()).toEqual([])
    await off.start()
    await clock.advance(5 * 60_000)
    await expect(off.runJob('minutely')).rejects.toMatchObject({ code: 'JOB_DISABLED' })
    await off.stop({ graceMs: 0 })
    expect(fired).toEqual([T0 + 60_000])

    const on = await scheduler(store, clock, true, fired)
    await on.start()
    await clock.advance(60_000)
    await on.stop({ graceMs: 0 })
    const runs = (await store.listRuns({ limit: 100 })).reverse()
    // Enabled again at T0+6m: the slots of 2m..5m are one missed record; 6m (due now) and 7m run.
    expect(runs.map((r) => [r.status, r.slot])).toEqual([
      ['succeeded', T0 + 60_000],
      ['missed', T0 + 5 * 60_000],
      ['succeeded', T0 + 6 * 60_000],
      ['succeeded', T0 + 7 * 60_000],
    ])
    expect(JSON.parse(runs[1]?.detail ?? 'null')).toMatchObject({ count: 4 })
    expect(fired).toEqual([T0 + 60_000, T0 + 6 * 60_000, T0 + 7 * 60_000])
  })
})
