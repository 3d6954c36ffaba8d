/**
 * Parsing caches per field text, shares value lists and matchers between schedules and memoises the
 * local zone. None of that may be visible: the same expression gives the same answers however often
 * and in whatever company it is parsed, and callers never see (or can change) shared state.
 */
import { afterEach, describe, expect, test } from 'vitest'
import { CronsError } from '../../src/errors.js'
import { localZone, nextFires, parseCron, parseFields } from '../../src/schedule/index.js'

const FROM = Date.parse('2025-01-01T00:00:00Z')

function messageOf(expression: string): string {
  try {
    parseCron(expression, 'UTC')
  } catch (error) {
    expect(error).toBeInstanceOf(CronsError)
    return (error as CronsError).message
  }
  throw new Error(`expected ${JSON.stringify(expression)} to be rejected`)
}

describe('parse caches', () => {
  test('parseFields returns fresh lists: changing one result changes no later one', () => {
    const first = parseFields('0,30 9-17 * * MON-FRI')
    first.minutes.push(15)
    first.hours.length = 0
    first.daysOfWeek[0] = 6
    const second = parseFields('0,30 9-17 * * MON-FRI')
    expect(second.minutes).toEqual([0, 30])
    expect(second.hours).toEqual([9, 10, 11, 12, 13, 14, 15, 16, 17])
    expect(second.daysOfWeek).toEqual([1, 2, 3, 4, 5])
    expect(parseCron('0,30 9-17 * * MON-FRI', 'UTC').describe()).toBe(
      'every 30 minutes between 09:00 and 17:59 on Monday through Friday',
    )
  })

  test('schedule.fields is a fresh copy each time', () => {
    const schedule = parseCron('5 4 * * *', 'UTC')
    schedule.fields.minutes.push(6)
    expect(schedule.fields.minutes).toEqual([5])
    expect(schedule.fields).toEqual(parseFields('5 4 * * *'))
  })

  test('fields keep the key order they always had', () => {
    expect(Object.keys(parseFields('* * * * *'))).toEqual([
      'seconds',
      'minutes',
      'hours',
      'daysOfMonth',
      'lastDayOfMonth',
      'months',
      'daysOfWeek',
      'lastWeekdays',
      'nthWeekdays',
      'hasSeconds',
      'dayOfMonthRestricted',
      'dayOfWeekRestricted',
    ])
  })

  test('schedules sharing field texts still fire on their own fields', () => {
    const expressions = [
      '15 9 * * 1-5',
      '15 9 * * *',
      '30 9 * * 1-5',
      '15 9,21 * * 1-5',
      '15 9 L * 1-5',
      '*/20 15 9 * * 1-5',
    ]
    const expected = [
      ['2025-01-01T09:15:00Z', '2025-01-02T09:15:00Z', '2025-01-03T09:15:00Z', '2025-01-06T09:15:00Z'],
      ['2025-01-01T09:15:00Z', '2025-01-02T09:15:00Z', '2025-01-03T09:15:00Z', '2025-01-04T09:15:00Z'],
      ['2025-01-01T09:30:00Z', '2025-01-02T09:30:00Z', '2025-01-03T09:30:00Z', '2025-01-06T09:30:00Z'],
      ['2025-01-01T09:15:00Z', '2025-01-01T21:15:00Z', '2025-01-02T09:15:00Z', '2025-01-02T21:15:00Z'],
      ['2025-01-01T09:15:00Z', '2025-01-02T09:15:00Z', '2025-01-03T09:15:00Z', '2025-01-06T09:15:00Z'],
      ['2025-01-01T09:15:00Z', '2025-01-01T09:15:20Z', '2025-01-01T09:15:40Z', '2025-01-02T09:15:00Z'],
    ]
    for (let round = 0; round < 2; round++) {
      expressions.forEach((expression, i) => {
        const fires = nextFires(parseCron(expression, 'UTC'), FROM, 4).map((t) => new Date(t).toISOString())
        expect(fires).toEqual((expected[i] as string[]).map((iso) => new Date(iso).toISOString()))
      })
    }
  })

  test('the same fields in other letter case or spelling give the same schedule', () => {
    const a = parseCron('0 9 * jan,jul mon-fri', 'Europe/Berlin')
    const b = parseCron('0 9 * JAN,JUL MON-FRI', 'Europe/Berlin')
    const c = parseCron('0 9 * 1,7 1-5', 'Europe/Berlin')
    for (const schedule of [b, c]) {
      expect(schedule.describe()).toBe(a.describe())
      expect(nextFires(schedule, FROM, 30)).toEqual(nextFires(a, FROM, 30))
    }
    expect(b.text).toBe('0 9 * JAN,JUL MON-FRI')
  })

  test('messages name the expression being parsed, also for field texts seen before', () => {
    parseCron('0 12 * * *', 'UTC')
    expect(messageOf('0 12 * * 8')).toBe('day-of-week 8 is out of range 0-7 in "0 12 * * 8"')
    expect(messageOf('0 12 31 2 *')).toBe('"0 12 31 2 *" never fires (no day matches)')
    expect(messageOf('0 24 31 2 *')).toBe('hour 24 is out of range 0-23 in "0 24 31 2 *"')
  })

  test('expressions cron-parser refuses as a whole give the same fields as always', () => {
    // A single month trims the days it does not have, unless the expression needs the item-by-item path.
    expect(parseFields('0 0 1,30 2 *').daysOfMonth).toEqual([1])
    expect(parseFields('0 0 1,30 2 0,7').daysOfMonth).toEqual([1, 30])
    expect(parseFields('0 0 1,30 2 0,7').daysOfWeek).toEqual([0])
    expect(parseFields('1-5,3 0 * * *').minutes).toEqual([1, 2, 3, 4, 5])
    expect(parseFields('0 1-5,3 * * *').hours).toEqual([1, 2, 3, 4, 5])
    expect(parseCron('0 0 1,30 2 *', 'UTC').describe()).toBe('at 00:00 on February 1')
    expect(parseCron('0 0 1,30 2 0,7', 'UTC').describe()).toBe(
      'at 00:00 on days 1 and 30 of the month or on Sunday in February',
    )
  })
})

describe('localZone', () => {
  const saved = process.env.TZ
  afterEach(() => {
    if (saved === undefined) delete process.env.TZ
    else process.env.TZ = saved
  })

  test('follows a change of TZ', () => {
    process.env.TZ = 'America/New_York'
    expect(localZone()).toBe('America/New_York')
    expect(localZone()).toBe('America/New_York')
    process.env.TZ = 'Asia/Tokyo'
    expect(localZone()).toBe('Asia/Tokyo')
  })
})
