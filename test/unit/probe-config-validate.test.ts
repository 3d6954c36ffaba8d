import { describe, expect, it } from 'vitest'
import { validateConfig } from '../../src/config/validate.js'
import { CronsError } from '../../src/errors.js'

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

describe('probe: validation', () => {
  it('a bad state is reported with the other problems, at once', () => {
    const raw = { state: 'mysql://db/crons', jobs: [{ name: 'backup', schedule: '60 3 * * *', run }] }
    const error = errorOf(() => validateConfig(raw, { file: 'crons.config.ts', configDir: '/project' }))
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.details).toHaveLength(2)
  })

  it('a duration too large to hold is refused, not turned into Infinity', () => {
    const raw = { jobs: [{ name: 'backup', every: '1m', jitter: 1e306, timeout: 1e306, run }] }
    const error = errorOf(() => validateConfig(raw, { file: 'crons.config.ts', configDir: '/project' }))
    expect(error.details).toHaveLength(2)
  })

  it('an argv with a NUL byte, which can never be spawned, is refused', () => {
    const raw = { jobs: [{ name: 'backup', schedule: '@daily', command: ['pg_dump', 'shop\0'] }] }
    const error = errorOf(() => validateConfig(raw, { file: 'crons.config.ts', configDir: '/project' }))
    expect(error.details).toHaveLength(1)
  })
})

describe('probe: validation that holds (passing)', () => {
  const lines = (raw: unknown) =>
    errorOf(() => validateConfig(raw, { file: 'crons.config.ts', configDir: '/project' })).details

  it('refuses each problem on one line naming the file, the job and the key', () => {
    const found = lines({
      history: { keepday: 3 },
      hooks: { onError: 'page' },
      jobs: [
        { name: 'a', schedule: '@daily', every: '5m', run, tz: 'Europe/Berln', retry: { maxx: 1 } },
        { name: 'a', at: '2026-03-29T02:30', tz: 'Europe/Berlin', run, hooks: { afterRun: 5, onErorr: run } },
      ],
    })
    expect(found).toEqual([
      'crons.config.ts: history: unknown key "keepday" (did you mean "keepDays"?)',
      'crons.config.ts: hooks.onError: expected a function, got "page"',
      'crons.config.ts: job "a" (jobs[0]): both "schedule" and "every" are set (expected exactly one of "schedule" (a cron expression), "every" (an interval) or "at" (an instant))',
      'crons.config.ts: job "a" (jobs[0]) tz: unknown time zone "Europe/Berln" (expected an IANA zone name such as "Europe/Berlin", "America/New_York" or "UTC") (did you mean "Europe/Berlin"?)',
      'crons.config.ts: job "a" (jobs[0]) retry: unknown key "maxx" (did you mean "max"?)',
      'crons.config.ts: job "a" (jobs[1]) name: duplicate job name "a" (already used by jobs[0]; names must be unique)',
      'crons.config.ts: job "a" (jobs[1]) at: "2026-03-29T02:30" has no offset (expected "Z" or an offset such as "+01:00" at the end, so the instant does not depend on the machine\'s zone)',
      'crons.config.ts: job "a" (jobs[1]) hooks.afterRun: expected a function, got 5',
      'crons.config.ts: job "a" (jobs[1]) hooks: unknown key "onErorr" (did you mean "onError"?)',
    ])
    for (const line of found) expect(line).not.toContain('\n')
  })

  it('reads durations at their edges', () => {
    const config = validateConfig({
      timezone: 'UTC',
      jobs: [{ name: 'a', every: '1.5s', timeout: '0s', jitter: '25d', run }],
    })
    expect(config.jobs[0]).toMatchObject({ timeoutMs: 0, jitterMs: 25 * 86_400_000, scheduleText: 'every 1.5s' })
    expect(lines({ jobs: [{ name: 'a', every: '0s', run }] })).toEqual([
      'crons.config.ts: job "a" (jobs[0]) every: "0s" is not a positive interval (expected a duration greater than 0, such as "5m")',
    ])
  })

  it('refuses a default export that is a function', () => {
    const error = errorOf(() => validateConfig(() => ({ jobs: [] }), { file: 'crons.config.ts' }))
    expect(error.message).toBe(
      'crons.config.ts: the config is a function, not an object; expected export default defineConfig({ jobs: [...] })',
    )
  })
})
