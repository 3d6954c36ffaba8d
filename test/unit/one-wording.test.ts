/**
 * One copy of each mechanism: the did-you-mean wording, the unknown-zone message, the ISO instant
 * reader (config `at:` and the CLI's `--from` / `--since`), the duration format, the ANSI stripper and
 * the signal handler. Each string is pinned here, as every caller shows it.
 */
import { EventEmitter } from 'node:events'
import { describe, expect, test } from 'vitest'
import { parseChoiceFlag, parseInstantFlag, parseSinceFlag, parseZoneFlag } from '../../src/cli/flags.js'
import { formatDuration, stripAnsi } from '../../src/cli/output.js'
import { signalNote, stopOnSignals } from '../../src/cli/signals.js'
import { instant } from '../../src/config/fields.js'
import { validateConfig } from '../../src/config/validate.js'
import { CronsError, suggestClosest, unknownJob } from '../../src/errors.js'
import { parseCron } from '../../src/schedule/index.js'

function thrown(fn: () => unknown): CronsError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(CronsError)
    return error as CronsError
  }
  throw new Error('expected a CronsError')
}

function configProblem(config: Record<string, unknown>): string {
  const error = thrown(() => validateConfig({ timezone: 'UTC', ...config }, { file: 'c.ts' }))
  return error.details.join('\n')
}

const ZONE =
  'unknown time zone "Europe/Berln" (expected an IANA zone name such as "Europe/Berlin", "America/New_York" or "UTC")'

describe('did you mean', () => {
  test('one wording wherever a guess is offered', () => {
    const guess = 'did you mean "backup"?'
    expect(suggestClosest('bakup', ['backup', 'report'])).toEqual([guess])
    expect(unknownJob('bakup', ['backup']).suggestions).toEqual([guess])
    expect(thrown(() => parseChoiceFlag('status', 'faild', ['failed', 'succeeded'])).suggestions).toEqual([
      'did you mean "failed"?',
    ])
    expect(thrown(() => parseCron('@daly', 'UTC')).suggestions).toEqual(['did you mean "@daily"?'])
    expect(thrown(() => parseCron('0 0 * * MONN', 'UTC')).suggestions).toEqual(['did you mean "MON"?'])
    // In a config problem line, which has no room for suggestions, the same words in parentheses.
    expect(configProblem({ jobs: [{ name: 'a', shedule: '@daily', run() {} }] })).toContain(
      'unknown key "shedule" (did you mean "schedule"?)',
    )
  })
})

describe('unknown time zone', () => {
  test('one message from the config, a flag and the schedule module', () => {
    expect(configProblem({ jobs: [{ name: 'a', schedule: '@daily', tz: 'Europe/Berln', run() {} }] })).toBe(
      `c.ts: job "a" (jobs[0]) tz: ${ZONE} (did you mean "Europe/Berlin"?)`,
    )
    const flag = thrown(() => parseZoneFlag('tz', 'Europe/Berln'))
    expect([flag.code, flag.message, flag.suggestions]).toEqual([
      'ZONE_UNKNOWN',
      `--tz: ${ZONE}`,
      ['did you mean "Europe/Berlin"?'],
    ])
    const schedule = thrown(() => parseCron('0 0 * * *', 'Europe/Berln'))
    expect([schedule.code, schedule.message, schedule.suggestions]).toEqual([
      'ZONE_UNKNOWN',
      ZONE,
      ['did you mean "Europe/Berlin"?'],
    ])
  })
})

describe('ISO instants', () => {
  const NOW = Date.parse('2026-06-01T00:00:00Z')
  const EXPECTED = 'an ISO instant with an offset such as "2026-01-01T03:00:00Z" or "2026-01-01T03:00:00+01:00"'
  const read = (text: string) => {
    const results = [
      () => instant(text),
      () => parseInstantFlag('from', text),
      () => parseSinceFlag('since', text, NOW),
    ].map((fn) => {
      try {
        return fn()
      } catch (error) {
        // The part after the value, which the three share; each names its own place before it.
        return (error as Error).message.replace(/^.*?"[^"]*" /, '')
      }
    })
    return results
  }

  test.each([
    ['2026-01-01T03:00:00Z', Date.parse('2026-01-01T03:00:00Z')],
    ['2026-01-01T03:00:00+01:00', Date.parse('2026-01-01T02:00:00Z')],
    ['2026-01-01T03:00:00.5-02:30', Date.parse('2026-01-01T05:30:00.500Z')],
    ['2026-01-01T03:00Z', Date.parse('2026-01-01T03:00:00Z')],
  ])('%s is read alike by config and flags', (text, ms) => {
    expect(read(text)).toEqual([ms, ms, ms])
  })

  test.each([
    [
      '2026-01-01T03:00:00',
      `has no offset (expected "Z" or an offset such as "+01:00" at the end, so the instant does not depend on the machine's zone)`,
    ],
    ['2026-01-01T03:00:00+0100', `is not an ISO instant (expected ${EXPECTED})`],
    ['2026-01-01t03:00:00z', `is not an ISO instant (expected ${EXPECTED})`],
    ['2026-02-30T00:00:00Z', `is not a real date and time (expected ${EXPECTED})`],
    ['2026-01-01T24:30:00Z', `is not a real date and time (expected ${EXPECTED})`],
    ['1969-12-31T23:59:59Z', `is not a real date and time (expected ${EXPECTED})`],
  ])('%s is refused alike by config and flags', (text, why) => {
    const [config, from, since] = read(text)
    // The config also takes a Date, and says so.
    expect(config).toBe(why.replace(`(expected ${EXPECTED})`, `(expected a Date, or ${EXPECTED})`))
    expect(from).toBe(why)
    expect(since).toBe(why)
  })
})

describe('durations', () => {
  test('one display form', () => {
    expect([0, 3, 200, 1500, 59_999, 90_000, 90_500, 5_400_000].map(formatDuration)).toEqual([
      '0s',
      '0.003s',
      '0.2s',
      '1.5s',
      '59.999s',
      '1m 30s',
      '1m 30.5s',
      '1h 30m',
    ])
  })
})

describe('stripAnsi', () => {
  test('removes colours and other terminal control sequences', () => {
    expect(stripAnsi('\u001b[1m\u001b[31mfailed\u001b[39m\u001b[22m in 0.2s')).toBe('failed in 0.2s')
    expect(stripAnsi('\u001b]8;;https://example.org\u0007link\u001b]8;;\u0007')).toBe('link')
  })
})

describe('signals', () => {
  test('the first waits out the grace, the second stops now; both announced in one wording', async () => {
    const source = new EventEmitter()
    const notes: string[] = []
    let stops = 0
    const { stopped, dispose } = stopOnSignals({
      stop: async () => {
        stops++
      },
      announce: (note) => notes.push(note),
      waitingFor: 'running jobs',
      graceMs: 30_000,
      source,
    })
    source.emit('SIGTERM', 'SIGTERM')
    await stopped
    source.emit('SIGINT', 'SIGINT')
    expect(stops).toBe(2)
    expect(notes).toEqual([
      'SIGTERM: stopping, waiting up to 30s for running jobs to finish (send again to stop now)',
      'SIGINT: stopping now, what is still running is recorded interrupted',
    ])
    dispose()
    expect(source.listenerCount('SIGINT') + source.listenerCount('SIGTERM')).toBe(0)
    expect(signalNote('SIGINT', 1, 'backup', 1500)).toBe(
      'SIGINT: stopping, waiting up to 1.5s for backup to finish (send again to stop now)',
    )
  })
})
