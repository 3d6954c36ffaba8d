import { describe, expect, it } from 'vitest'
import { DEFAULTS } from '../../src/config/defaults.js'
import { DURATION_EXPECTED } from '../../src/config/duration.js'
import { validateConfig } from '../../src/config/validate.js'
import { CronsError } from '../../src/errors.js'
import { localZone, parseCron } from '../../src/schedule/index.js'

const FILE = 'crons.config.ts'
const run = () => undefined

function errorOf(fn: () => unknown): CronsError {
  try {
    fn()
  } catch (error) {
    if (error instanceof CronsError) return error
    throw error
  }
  throw new Error('expected a CronsError')
}

/** The problem lines for a config, asserting the summary line that carries them. */
function problems(raw: unknown): string[] {
  const error = errorOf(() => validateConfig(raw, { file: FILE, configDir: '/project' }))
  expect(error.code).toBe('CONFIG_INVALID')
  const count = error.details.length
  expect(error.message).toBe(`${FILE}: ${count} problem${count === 1 ? '' : 's'} in the config`)
  return error.details
}

/** One valid job named "backup" with `overrides` applied; `undefined` removes a key. */
function jobProblems(overrides: Record<string, unknown>, top: Record<string, unknown> = {}): string[] {
  return problems({ timezone: 'UTC', ...top, jobs: [{ name: 'backup', schedule: '0 3 * * *', run, ...overrides }] })
}

/** The schedule module's own message for an expression, so these tests pin our line format, not its wording. */
function cronMessage(expression: string): string {
  return errorOf(() => parseCron(expression, 'UTC')).message
}

const JOB = `${FILE}: job "backup" (jobs[0])`
const ONE_OF = '(expected exactly one of "schedule" (a cron expression), "every" (an interval) or "at" (an instant))'

describe('validateConfig: one line per problem', () => {
  it.each([
    [
      { name: 'my job' },
      `${FILE}: job "my job" (jobs[0]) name: expected a job name of letters, digits, ".", "_", "-" or ":", got "my job"`,
    ],
    [
      { name: '' },
      `${FILE}: jobs[0] name: expected a non-empty name (a job name of letters, digits, ".", "_", "-" or ":"), got ""`,
    ],
    [
      { name: undefined },
      `${FILE}: jobs[0] name: missing (expected a job name of letters, digits, ".", "_", "-" or ":")`,
    ],
    [{ name: 7 }, `${FILE}: jobs[0] name: expected a job name of letters, digits, ".", "_", "-" or ":", got 7`],
    [
      { run: 'node backup.js' },
      `${JOB} run: expected a function, got "node backup.js" (a command to run goes in "command")`,
    ],
    [
      { run: undefined },
      `${JOB}: no "run" or "command" (expected exactly one of "run" (a function) or "command" (a command line or an argv array))`,
    ],
    [{ schedule: 5 }, `${JOB} schedule: expected a cron expression such as "0 3 * * *" or "@daily", got 5`],
    [{ schedule: '  ' }, `${JOB} schedule: expected a cron expression such as "0 3 * * *" or "@daily", got "  "`],
    [{ schedule: undefined }, `${JOB}: no schedule ${ONE_OF}`],
    [{ every: '5m' }, `${JOB}: both "schedule" and "every" are set ${ONE_OF}`],
    [{ every: '5m', at: '2030-01-01T00:00:00Z' }, `${JOB}: "schedule", "every" and "at" are all set ${ONE_OF}`],
    [
      { tz: 'Europe/Londn' },
      `${JOB} tz: unknown time zone "Europe/Londn" (expected an IANA zone name such as "Europe/Berlin", "America/New_York" or "UTC") (did you mean "Europe/London"?)`,
    ],
    [
      { tz: 'Mars/Olympus' },
      `${JOB} tz: unknown time zone "Mars/Olympus" (expected an IANA zone name such as "Europe/Berlin", "America/New_York" or "UTC")`,
    ],
    [{ tz: 2 }, `${JOB} tz: expected an IANA time zone name such as "Europe/Berlin" or "UTC", got 2`],
    [
      { tz: '+02:00' },
      `${JOB} tz: unknown time zone "+02:00" (expected an IANA zone name such as "Europe/Berlin", "America/New_York" or "UTC")`,
    ],
    [{ timeout: '5x' }, `${JOB} timeout: "5x" is not a duration (${DURATION_EXPECTED})`],
    [{ timeout: -1 }, `${JOB} timeout: -1 is negative (expected a duration of 0 or more)`],
    [{ misfireGrace: 'a minute' }, `${JOB} misfireGrace: "a minute" is not a duration (${DURATION_EXPECTED})`],
    [{ jitter: Number.NaN }, `${JOB} jitter: NaN is not a duration (${DURATION_EXPECTED})`],
    [
      { jitter: 1e306 },
      `${JOB} jitter: 1e+306 is not a duration a timer can hold (expected at most 100000000d, about 273,790 years)`,
    ],
    [{ retry: { initial: 'soon' } }, `${JOB} retry.initial: "soon" is not a duration (${DURATION_EXPECTED})`],
    [{ retry: { maxDelay: [] } }, `${JOB} retry.maxDelay: [] is not a duration (${DURATION_EXPECTED})`],
    [{ retry: { max: -1 } }, `${JOB} retry.max: expected a whole number of retries, 0 or more, got -1`],
    [{ retry: { max: 1.5 } }, `${JOB} retry.max: expected a whole number of retries, 0 or more, got 1.5`],
    [{ retry: { max: '3' } }, `${JOB} retry.max: expected a whole number of retries, 0 or more, got "3"`],
    [
      { retry: { backoff: 'expo' } },
      `${JOB} retry.backoff: expected "exponential", "linear" or "constant", got "expo"`,
    ],
    [
      { retry: { backoff: 'linaer' } },
      `${JOB} retry.backoff: expected "exponential", "linear" or "constant", got "linaer" (did you mean "linear"?)`,
    ],
    [{ retry: { jitter: 1.5 } }, `${JOB} retry.jitter: expected a fraction from 0 to 1, got 1.5`],
    [{ retry: { jitter: -0.1 } }, `${JOB} retry.jitter: expected a fraction from 0 to 1, got -0.1`],
    [{ retry: 3 }, `${JOB} retry: expected an object such as { max: 3, backoff: "exponential", initial: "1s" }, got 3`],
    [{ overlap: 'queue' }, `${JOB} overlap: expected "skip" or "allow", got "queue"`],
    [{ catchUp: 'yes' }, `${JOB} catchUp: expected true or false, got "yes"`],
    [{ tags: 'nightly' }, `${JOB} tags: expected an array of strings, got "nightly"`],
    [{ tags: ['nightly', 3] }, `${JOB} tags[1]: expected a non-empty string, got 3`],
    [{ description: 42 }, `${JOB} description: expected a string, got 42`],
    [{ hooks: { beforeRun: 'log' } }, `${JOB} hooks.beforeRun: expected a function, got "log"`],
    [{ shedule: '0 3 * * *', schedule: undefined }, `${JOB}: unknown key "shedule" (did you mean "schedule"?)`],
    [{ retry: { maxx: 3 } }, `${JOB} retry: unknown key "maxx" (did you mean "max"?)`],
    [
      { owner: 'ops' },
      `${JOB}: unknown key "owner" (expected one of: name, schedule, every, at, tz, timeout, retry, overlap, catchUp, misfireGrace, jitter, tags, description, hooks, run, command, cwd, env, killGrace, enabled)`,
    ],
  ])('%j', (overrides, line) => {
    expect(jobProblems(overrides)).toEqual([line])
  })

  it('reports a bad cron expression with the schedule module message', () => {
    const message = cronMessage('60 * * * *')
    expect(message).toContain('60 * * * *')
    expect(jobProblems({ schedule: '60 * * * *' })).toEqual([`${JOB} schedule: ${message}`])
  })

  it('reports an expression that never fires', () => {
    const message = cronMessage('0 0 31 2 *')
    expect(message).toContain('0 0 31 2 *')
    expect(jobProblems({ schedule: '0 0 31 2 *' })).toEqual([`${JOB} schedule: ${message}`])
  })

  it('still parses the cron when the zone is unknown, so both problems show', () => {
    expect(jobProblems({ schedule: '60 * * * *', tz: 'Nowhere/Land' })).toEqual([
      `${JOB} schedule: ${cronMessage('60 * * * *')}`,
      `${JOB} tz: unknown time zone "Nowhere/Land" (expected an IANA zone name such as "Europe/Berlin", "America/New_York" or "UTC")`,
    ])
  })

  it.each([
    ['0', `${JOB} every: "0" is not a positive interval (expected a duration greater than 0, such as "5m")`],
    ['often', `${JOB} every: "often" is not a duration (${DURATION_EXPECTED})`],
  ])('rejects every: %j', (every, line) => {
    expect(jobProblems({ schedule: undefined, every })).toEqual([line])
  })

  it.each([
    [
      '2030-01-01T03:00:00',
      `${JOB} at: "2030-01-01T03:00:00" has no offset (expected "Z" or an offset such as "+01:00" at the end, so the instant does not depend on the machine's zone)`,
    ],
    [
      'tomorrow',
      `${JOB} at: "tomorrow" is not an ISO instant (expected a Date, or an ISO instant with an offset such as "2026-01-01T03:00:00Z" or "2026-01-01T03:00:00+01:00")`,
    ],
    [
      '2030-02-30T00:00:00Z',
      `${JOB} at: "2030-02-30T00:00:00Z" is not a real date and time (expected a Date, or an ISO instant with an offset such as "2026-01-01T03:00:00Z" or "2026-01-01T03:00:00+01:00")`,
    ],
    [
      new Date(Number.NaN),
      `${JOB} at: expected a Date, or an ISO instant with an offset such as "2026-01-01T03:00:00Z" or "2026-01-01T03:00:00+01:00", got an invalid Date`,
    ],
  ])('rejects at: %j', (at, line) => {
    expect(jobProblems({ schedule: undefined, at })).toEqual([line])
  })

  it('names both jobs of a duplicate', () => {
    expect(
      problems({
        jobs: [
          { name: 'backup', schedule: '@daily', run },
          { name: 'backup', every: '1h', run },
        ],
      }),
    ).toEqual([
      `${FILE}: job "backup" (jobs[1]) name: duplicate job name "backup" (already used by jobs[0]; names must be unique)`,
    ])
  })

  it.each([
    [
      { timezone: 'America/New_Yrok' },
      `${FILE}: timezone: unknown time zone "America/New_Yrok" (expected an IANA zone name such as "Europe/Berlin", "America/New_York" or "UTC") (did you mean "America/New_York"?)`,
    ],
    [{ shutdownGrace: 'forever' }, `${FILE}: shutdownGrace: "forever" is not a duration (${DURATION_EXPECTED})`],
    [{ state: '' }, `${FILE}: state: expected a file path or ":memory:", got ""`],
    [{ history: { keepDays: 0 } }, `${FILE}: history.keepDays: expected a number of days greater than 0, got 0`],
    [{ history: { keepRuns: 2.5 } }, `${FILE}: history.keepRuns: expected a whole number of runs, 1 or more, got 2.5`],
    [{ history: { keep: 5 } }, `${FILE}: history: unknown key "keep" (expected one of: keepDays, keepRuns)`],
    [{ timzone: 'UTC' }, `${FILE}: unknown key "timzone" (did you mean "timezone"?)`],
    [{ hooks: { onEror: run } }, `${FILE}: hooks: unknown key "onEror" (did you mean "onError"?)`],
  ])('top level %j', (top, line) => {
    expect(problems({ ...top, jobs: [{ name: 'ok', schedule: '@daily', run }] })).toEqual([line])
  })

  it('reports a state the state parser refuses as one more problem at "state", with the others', () => {
    const raw = { state: 'mysql://db/crons', jobs: [{ name: 'backup', schedule: '60 3 * * *', run }] }
    expect(problems(raw)).toEqual([
      `${FILE}: state: mysql://db/crons: unsupported URL scheme "mysql://"; expected postgres:// or postgresql:// (or a file path)`,
      `${JOB} schedule: ${cronMessage('60 3 * * *')}`,
    ])
  })

  it('names a job entry that is not an object by its index', () => {
    expect(problems({ jobs: [{ name: 'ok', schedule: '@daily', run }, 'backup'] })).toEqual([
      `${FILE}: jobs[1]: expected a job object such as { name, schedule, run }, got "backup"`,
    ])
  })

  it('reports every problem at once, top level first, then job by job in field order', () => {
    const lines = problems({
      timezone: 'Europe/Berln',
      extra: true,
      jobs: [
        { name: 'backup', shedule: '0 3 * * *', run, timeout: '5x' },
        { name: 'backup', schedule: '60 * * * *', run: 'x', retry: { max: -1 } },
        { name: 'report', schedule: '@daily', every: 0, run, overlap: 'queue' },
      ],
    })
    expect(lines).toEqual([
      `${FILE}: timezone: unknown time zone "Europe/Berln" (expected an IANA zone name such as "Europe/Berlin", "America/New_York" or "UTC") (did you mean "Europe/Berlin"?)`,
      `${FILE}: unknown key "extra" (expected one of: state, timezone, shutdownGrace, history, hooks, jobs)`,
      `${FILE}: job "backup" (jobs[0]) timeout: "5x" is not a duration (${DURATION_EXPECTED})`,
      `${FILE}: job "backup" (jobs[0]): unknown key "shedule" (did you mean "schedule"?)`,
      `${FILE}: job "backup" (jobs[1]) name: duplicate job name "backup" (already used by jobs[0]; names must be unique)`,
      `${FILE}: job "backup" (jobs[1]) schedule: ${cronMessage('60 * * * *')}`,
      `${FILE}: job "backup" (jobs[1]) retry.max: expected a whole number of retries, 0 or more, got -1`,
      `${FILE}: job "backup" (jobs[1]) run: expected a function, got "x" (a command to run goes in "command")`,
      `${FILE}: job "report" (jobs[2]): both "schedule" and "every" are set ${ONE_OF}`,
      `${FILE}: job "report" (jobs[2]) every: 0 is not a positive interval (expected a duration greater than 0, such as "5m")`,
      `${FILE}: job "report" (jobs[2]) overlap: expected "skip" or "allow", got "queue"`,
    ])
  })
})

describe('validateConfig: export shape', () => {
  const EXPECTED = 'expected export default defineConfig({ jobs: [...] })'
  it.each([
    [null, `${FILE}: the config is null, not an object; ${EXPECTED}`],
    [undefined, `${FILE}: the config is undefined, not an object; ${EXPECTED}`],
    ['jobs', `${FILE}: the config is "jobs", not an object; ${EXPECTED}`],
    [[{ name: 'a' }], `${FILE}: the config is an array, not an object; ${EXPECTED}`],
    [() => ({ jobs: [] }), `${FILE}: the config is a function, not an object; ${EXPECTED}`],
    [{}, `${FILE}: the config has no "jobs" array (keys: none); ${EXPECTED}`],
    [{ timezone: 'UTC' }, `${FILE}: the config has no "jobs" array (keys: timezone); ${EXPECTED}`],
    [{ job: [] }, `${FILE}: the config has no "jobs" array (found "job" — did you mean "jobs"?); ${EXPECTED}`],
    [{ jobs: { backup: {} } }, `${FILE}: "jobs" is {"backup":{}}, not an array; ${EXPECTED}`],
  ])('%j', (raw, message) => {
    const error = errorOf(() => validateConfig(raw, { file: FILE }))
    expect(error.code).toBe('CONFIG_EXPORT')
    expect(error.message).toBe(message)
  })
})

describe('validateConfig: resolution', () => {
  const base = { name: 'backup', schedule: '0 3 * * *', run }

  it('fills every default from the one defaults object', () => {
    const config = validateConfig({ jobs: [base] }, { configDir: '/project' })
    expect(config.statePath).toBe('/project/crons.db')
    expect(config.timezone).toBe(localZone())
    expect(config.shutdownGraceMs).toBe(DEFAULTS.shutdownGraceMs)
    expect(config.history).toEqual(DEFAULTS.history)
    expect(config.hooks).toEqual({})
    expect(config.sources).toEqual({
      state: 'default',
      timezone: 'default',
      shutdownGrace: 'default',
      history: 'default',
    })
    expect(config.configPath).toBeUndefined()
    const [job] = config.jobs
    expect(job).toMatchObject({
      name: 'backup',
      kind: 'cron',
      scheduleText: '0 3 * * *',
      zone: localZone(),
      timeoutMs: 0,
      retry: { max: 0, backoff: 'exponential', initialMs: 1_000, maxDelayMs: 300_000, jitter: 0 },
      overlap: 'skip',
      catchUp: false,
      misfireGraceMs: 60_000,
      jitterMs: 0,
      tags: [],
      hooks: {},
    })
    expect(job?.run).toBe(run)
    expect(job).not.toHaveProperty('description')
  })

  it('converts durations to ms and keeps what was set', () => {
    const hooks = { beforeRun: run }
    const config = validateConfig({
      timezone: 'Europe/Berlin',
      shutdownGrace: '1m',
      history: { keepDays: 7 },
      hooks,
      jobs: [
        {
          ...base,
          timeout: 90,
          misfireGrace: '5m',
          jitter: '500ms',
          retry: { max: 3, backoff: 'linear', initial: '2s', maxDelay: '1m', jitter: 0.5 },
          overlap: 'allow',
          catchUp: true,
          tags: ['nightly'],
          description: 'Nightly backup',
          hooks,
        },
      ],
    })
    expect(config.shutdownGraceMs).toBe(60_000)
    expect(config.history).toEqual({ keepDays: 7, keepRuns: 10_000 })
    expect(config.hooks).toEqual(hooks)
    expect(config.sources).toEqual({ state: 'default', timezone: 'file', shutdownGrace: 'file', history: 'file' })
    expect(config.jobs[0]).toMatchObject({
      zone: 'Europe/Berlin',
      timeoutMs: 90_000,
      misfireGraceMs: 300_000,
      jitterMs: 500,
      retry: { max: 3, backoff: 'linear', initialMs: 2_000, maxDelayMs: 60_000, jitter: 0.5 },
      overlap: 'allow',
      catchUp: true,
      tags: ['nightly'],
      description: 'Nightly backup',
      hooks,
    })
  })

  it('reads each job in its tz, else the config timezone', () => {
    const config = validateConfig({
      timezone: 'America/New_York',
      jobs: [base, { ...base, name: 'tokyo', tz: 'Asia/Tokyo' }],
    })
    expect(config.jobs.map((job) => [job.zone, job.schedule.zone])).toEqual([
      ['America/New_York', 'America/New_York'],
      ['Asia/Tokyo', 'Asia/Tokyo'],
    ])
    // 03:00 in New York on 2026-01-15 is 08:00Z.
    expect(config.jobs[0]?.schedule.next(Date.parse('2026-01-15T00:00:00Z'))).toBe(Date.parse('2026-01-15T08:00:00Z'))
  })

  it.each([
    [{ every: '5m' }, 'every', 'every 5m'],
    [{ every: 90 }, 'every', 'every 1m 30s'],
    [{ every: '300' }, 'every', 'every 5m'],
    [{ at: '2030-01-01T01:00:00+01:00' }, 'at', 'at 2030-01-01T00:00:00.000Z'],
    [{ at: new Date('2030-06-01T12:00:00Z') }, 'at', 'at 2030-06-01T12:00:00.000Z'],
    [{ schedule: ' @daily ' }, 'cron', '@daily'],
  ])('builds %j as a %s schedule with text %j', (kind, expectedKind, text) => {
    const [job] = validateConfig({ timezone: 'UTC', jobs: [{ ...base, schedule: undefined, ...kind }] }).jobs
    expect(job?.kind).toBe(expectedKind)
    expect(job?.scheduleText).toBe(text)
  })

  it('fires an `at` job once, at the instant given with its offset', () => {
    const [job] = validateConfig({ jobs: [{ ...base, schedule: undefined, at: '2030-01-01T01:00:00.250+01:00' }] }).jobs
    const instant = Date.parse('2030-01-01T00:00:00.250Z')
    expect(job?.schedule.next(instant - 1)).toBe(instant)
    expect(job?.schedule.next(instant)).toBeNull()
  })

  it('resolves the file state against the config dir, a flag or env state against cwd', () => {
    const file = { state: './data/state.db', jobs: [base] }
    const fromFile = validateConfig(file, { configPath: '/project/crons.config.ts', cwd: '/elsewhere' })
    expect(fromFile.configPath).toBe('/project/crons.config.ts')
    expect([fromFile.statePath, fromFile.sources.state]).toEqual(['/project/data/state.db', 'file'])
    const overridden = validateConfig(file, {
      configDir: '/project',
      cwd: '/elsewhere',
      overrides: { state: { value: 'flag.db', source: 'flag' } },
    })
    expect([overridden.statePath, overridden.sources.state]).toEqual(['/elsewhere/flag.db', 'flag'])
    const fromEnv = validateConfig(file, {
      cwd: '/elsewhere',
      overrides: { state: { value: '/abs/env.db', source: 'env' } },
    })
    expect([fromEnv.statePath, fromEnv.sources.state]).toEqual(['/abs/env.db', 'env'])
  })

  it('keeps :memory: as is', () => {
    expect(validateConfig({ state: ':memory:', jobs: [base] }, { configDir: '/project' }).statePath).toBe(':memory:')
  })

  it('accepts an empty job list', () => {
    expect(validateConfig({ jobs: [] }).jobs).toEqual([])
  })

  it('does not share the defaults arrays with resolved jobs', () => {
    const [job] = validateConfig({ jobs: [base] }).jobs
    job?.tags.push('mutated')
    expect(DEFAULTS.job.tags).toEqual([])
  })
})
