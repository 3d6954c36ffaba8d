import { describe, expect, it } from 'vitest'
import { DURATION_EXPECTED, formatDuration, MAX_DURATION_MS, parseDuration } from '../../src/config/duration.js'
import { CronsError } from '../../src/errors.js'

function errorOf(fn: () => unknown): CronsError {
  try {
    fn()
  } catch (error) {
    if (error instanceof CronsError) return error
    throw error
  }
  throw new Error('expected a CronsError')
}

describe('parseDuration', () => {
  it.each([
    [0, 0],
    [90, 90_000],
    [1.5, 1_500],
    [0.25, 250],
    ['500ms', 500],
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1.5h', 5_400_000],
    ['1d', 86_400_000],
    ['2 weeks', 1_209_600_000],
    ['10 minutes', 600_000],
    ['  5m ', 300_000],
    ['1m 30s', 90_000],
    ['1h30m', 5_400_000],
    ['1d 2h 3m 4.5s', 93_784_500],
  ])('%j is %i ms', (input, expected) => {
    expect(parseDuration(input)).toBe(expected)
  })

  it('reads a plain numeric string as seconds, like a number (not as ms, as `ms` would)', () => {
    expect(parseDuration('90')).toBe(90_000)
    expect(parseDuration('0.5')).toBe(500)
  })

  it('rounds to whole milliseconds', () => {
    expect(parseDuration(0.0004)).toBe(0)
    expect(parseDuration(0.0016)).toBe(2)
  })

  it.each([
    ['5x', '"5x"'],
    ['', '""'],
    ['m', '"m"'],
    ['1e3', '"1e3"'],
    ['5m 3x', '"5m 3x"'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [true, 'true'],
    [null, 'null'],
    [{ seconds: 5 }, '{"seconds":5}'],
  ])('rejects %j with one line naming the value and the accepted forms', (input, shown) => {
    const error = errorOf(() => parseDuration(input))
    expect(error.code).toBe('DURATION_INVALID')
    expect(error.message).toBe(`${shown} is not a duration (${DURATION_EXPECTED})`)
  })

  it('spells out the expected forms', () => {
    expect(errorOf(() => parseDuration('5x')).message).toBe(
      '"5x" is not a duration (expected seconds as a number, or a string such as "500ms", "90s", "5m", "1h", "1d")',
    )
  })

  it('takes up to 100,000,000 days, past a Node timer (24.8 days), and refuses longer, Infinity ms among them', () => {
    expect(parseDuration('30d')).toBe(30 * 86_400_000)
    expect(parseDuration('100000000d')).toBe(MAX_DURATION_MS)
    expect(parseDuration(MAX_DURATION_MS / 1000)).toBe(MAX_DURATION_MS)
    const tooLong = (shown: string) =>
      `${shown} is not a duration a timer can hold (expected at most 100000000d, about 273,790 years)`
    for (const [input, shown] of [
      [1e306, '1e+306'],
      [MAX_DURATION_MS / 1000 + 0.001, '8640000000000.001'],
      ['100000001d', '"100000001d"'],
      ['9'.repeat(400), `"${'9'.repeat(400)}"`],
    ] as const) {
      const error = errorOf(() => parseDuration(input))
      expect(error.code).toBe('DURATION_INVALID')
      expect(error.message).toBe(tooLong(shown))
    }
  })

  it.each([
    [-5, '-5'],
    ['-5m', '"-5m"'],
  ])('rejects negative %j', (input, shown) => {
    expect(errorOf(() => parseDuration(input)).message).toBe(`${shown} is negative (expected a duration of 0 or more)`)
  })
})

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '0.5s'],
    [200, '0.2s'],
    [3, '0.003s'],
    [0.4, '0s'],
    [59_999, '59.999s'],
    [1_000, '1s'],
    [1_500, '1.5s'],
    [90_000, '1m 30s'],
    [90_500, '1m 30.5s'],
    [300_000, '5m'],
    [3_600_000, '1h'],
    [5_400_000, '1h 30m'],
    [86_400_000, '1d'],
    [93_784_000, '1d 2h 3m 4s'],
    [-90_000, '-1m 30s'],
  ])('%i ms is %s', (input, expected) => {
    expect(formatDuration(input)).toBe(expected)
  })

  it('prints what parseDuration reads back', () => {
    for (const text of ['500ms', '90s', '5m', '1h', '1d', '1.5s', '93784500ms']) {
      expect(parseDuration(formatDuration(parseDuration(text)))).toBe(parseDuration(text))
    }
  })
})
