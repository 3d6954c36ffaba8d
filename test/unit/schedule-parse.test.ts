/**
 * SEMANTICS §1: the expression language and its error messages. Expected fires are worked out from
 * the calendar (2025-01-01 was a Wednesday), in UTC so no DST is involved.
 */
import { describe, expect, test } from 'vitest'
import { CronsError } from '../../src/errors.js'
import { nextFires, parseCron } from '../../src/schedule/index.js'

function fires(expression: string, from: string, count: number, zone = 'UTC'): string[] {
  return nextFires(parseCron(expression, zone), Date.parse(from), count).map((t) =>
    new Date(t).toISOString().replace('.000Z', 'Z'),
  )
}

function errorOf(expression: string): CronsError {
  try {
    parseCron(expression, 'UTC')
  } catch (error) {
    expect(error).toBeInstanceOf(CronsError)
    const crons = error as CronsError
    expect(crons.code).toBe('SCHEDULE_INVALID')
    expect(crons.message).not.toContain('\n')
    return crons
  }
  throw new Error(`expected ${JSON.stringify(expression)} to be rejected`)
}

describe('fields', () => {
  test('5 fields: minute hour day-of-month month day-of-week', () => {
    expect(fires('5 4 * * *', '2025-05-15T10:20:00Z', 2)).toEqual(['2025-05-16T04:05:00Z', '2025-05-17T04:05:00Z'])
  })

  test('6 fields: leading seconds', () => {
    expect(fires('30 * * * * *', '2025-05-15T10:20:00Z', 3)).toEqual([
      '2025-05-15T10:20:30Z',
      '2025-05-15T10:21:30Z',
      '2025-05-15T10:22:30Z',
    ])
    expect(fires('*/20 5 4 * * *', '2025-05-15T10:20:00Z', 4)).toEqual([
      '2025-05-16T04:05:00Z',
      '2025-05-16T04:05:20Z',
      '2025-05-16T04:05:40Z',
      '2025-05-17T04:05:00Z',
    ])
  })

  test('5-field expressions fire on whole minutes, whatever the sub-second part of after', () => {
    expect(fires('* * * * *', '2025-05-15T10:20:00.001Z', 1)).toEqual(['2025-05-15T10:21:00Z'])
    expect(fires('* * * * *', '2025-05-15T10:20:59.999Z', 1)).toEqual(['2025-05-15T10:21:00Z'])
  })

  test('next is strictly after `after`', () => {
    expect(fires('0 * * * *', '2025-05-15T10:00:00Z', 1)).toEqual(['2025-05-15T11:00:00Z'])
    expect(fires('0 * * * *', '2025-05-15T09:59:59.999Z', 1)).toEqual(['2025-05-15T10:00:00Z'])
  })

  test('extreme and invalid `after` values', () => {
    const schedule = parseCron('0 0 1 1 *', 'Europe/Berlin')
    expect(schedule.next(Number.POSITIVE_INFINITY)).toBeNull()
    expect(schedule.next(8.64e15)).toBeNull()
    expect(schedule.next(Number.NEGATIVE_INFINITY)).toBeTypeOf('number')
    expect(() => schedule.next(Number.NaN)).toThrow(RangeError)
  })

  test('surrounding whitespace and repeated spaces are fine', () => {
    expect(fires('  0   12 *\t* *  ', '2025-05-15T10:20:00Z', 1)).toEqual(['2025-05-15T12:00:00Z'])
  })
})

describe('aliases', () => {
  const from = '2025-05-15T10:20:00Z' // a Thursday
  test.each([
    ['@yearly', '2026-01-01T00:00:00Z'],
    ['@annually', '2026-01-01T00:00:00Z'],
    ['@monthly', '2025-06-01T00:00:00Z'],
    ['@weekly', '2025-05-18T00:00:00Z'],
    ['@daily', '2025-05-16T00:00:00Z'],
    ['@midnight', '2025-05-16T00:00:00Z'],
    ['@hourly', '2025-05-15T11:00:00Z'],
    ['@DAILY', '2025-05-16T00:00:00Z'],
  ])('%s', (alias, expected) => {
    expect(fires(alias, from, 1)).toEqual([expected])
  })
})

describe('ranges, steps, lists, names', () => {
  test('*/7 restarts at the top of each hour (…, 49, 56, then 00)', () => {
    expect(fires('*/7 * * * *', '2025-05-15T10:48:00Z', 4)).toEqual([
      '2025-05-15T10:49:00Z',
      '2025-05-15T10:56:00Z',
      '2025-05-15T11:00:00Z',
      '2025-05-15T11:07:00Z',
    ])
  })

  test('a-b/n starts at a in each period', () => {
    expect(fires('10-40/10 * * * *', '2025-05-15T10:35:00Z', 3)).toEqual([
      '2025-05-15T10:40:00Z',
      '2025-05-15T11:10:00Z',
      '2025-05-15T11:20:00Z',
    ])
  })

  test('*/n in day-of-month starts at 1', () => {
    expect(fires('0 0 */10 * *', '2025-05-15T00:00:00Z', 4)).toEqual([
      '2025-05-21T00:00:00Z',
      '2025-05-31T00:00:00Z',
      '2025-06-01T00:00:00Z',
      '2025-06-11T00:00:00Z',
    ])
  })

  test('lists and ranges mixed', () => {
    expect(fires('0 8-9,17 * * *', '2025-05-15T10:00:00Z', 4)).toEqual([
      '2025-05-15T17:00:00Z',
      '2025-05-16T08:00:00Z',
      '2025-05-16T09:00:00Z',
      '2025-05-16T17:00:00Z',
    ])
  })

  test('overlapping list items are fine (classic cron accepts them)', () => {
    expect(fires('0 0 * * 0,7', '2025-05-15T00:00:00Z', 2)).toEqual(['2025-05-18T00:00:00Z', '2025-05-25T00:00:00Z'])
    expect(fires('0 8-9,9,8 * * *', '2025-05-15T10:00:00Z', 2)).toEqual([
      '2025-05-16T08:00:00Z',
      '2025-05-16T09:00:00Z',
    ])
    expect(fires('0 0 * * 1-5,3', '2025-05-15T00:00:00Z', 2)).toEqual(['2025-05-16T00:00:00Z', '2025-05-19T00:00:00Z'])
  })

  test('month and day names in any case', () => {
    const expected = fires('0 0 * 1,2 1-5', '2025-05-15T00:00:00Z', 5)
    expect(fires('0 0 * jan,FEB Mon-fri', '2025-05-15T00:00:00Z', 5)).toEqual(expected)
    expect(expected[0]).toBe('2026-01-01T00:00:00Z')
  })

  test('day-of-week 7 and 0 are both Sunday', () => {
    expect(fires('0 0 * * 7', '2025-05-15T00:00:00Z', 2)).toEqual(['2025-05-18T00:00:00Z', '2025-05-25T00:00:00Z'])
    expect(fires('0 0 * * 0', '2025-05-15T00:00:00Z', 2)).toEqual(['2025-05-18T00:00:00Z', '2025-05-25T00:00:00Z'])
    expect(fires('0 0 * * 5-7', '2025-05-15T00:00:00Z', 4)).toEqual([
      '2025-05-16T00:00:00Z',
      '2025-05-17T00:00:00Z',
      '2025-05-18T00:00:00Z',
      '2025-05-23T00:00:00Z',
    ])
  })
})

describe('L, nL, n#k', () => {
  test('L in day-of-month is the last day, leap years included', () => {
    expect(fires('0 0 L * *', '2025-01-31T00:00:00Z', 3)).toEqual([
      '2025-02-28T00:00:00Z',
      '2025-03-31T00:00:00Z',
      '2025-04-30T00:00:00Z',
    ])
    expect(fires('0 0 L 2 *', '2027-03-01T00:00:00Z', 1)).toEqual(['2028-02-29T00:00:00Z'])
    expect(fires('0 0 1,L * *', '2025-01-02T00:00:00Z', 3)).toEqual([
      '2025-01-31T00:00:00Z',
      '2025-02-01T00:00:00Z',
      '2025-02-28T00:00:00Z',
    ])
  })

  test('nL in day-of-week is the last such weekday of the month', () => {
    expect(fires('0 0 * * 5L', '2025-01-01T00:00:00Z', 3)).toEqual([
      '2025-01-31T00:00:00Z',
      '2025-02-28T00:00:00Z',
      '2025-03-28T00:00:00Z',
    ])
    expect(fires('0 0 * * friL', '2025-01-01T00:00:00Z', 1)).toEqual(['2025-01-31T00:00:00Z'])
    expect(fires('0 0 * * 7L', '2025-01-01T00:00:00Z', 1)).toEqual(['2025-01-26T00:00:00Z'])
  })

  test('n#k in day-of-week is the k-th such weekday', () => {
    expect(fires('0 0 * * 1#2', '2025-01-01T00:00:00Z', 3)).toEqual([
      '2025-01-13T00:00:00Z',
      '2025-02-10T00:00:00Z',
      '2025-03-10T00:00:00Z',
    ])
    expect(fires('0 0 * * 5#5', '2025-01-01T00:00:00Z', 2)).toEqual(['2025-01-31T00:00:00Z', '2025-05-30T00:00:00Z'])
    expect(fires('0 0 * * SUN#1', '2025-01-01T00:00:00Z', 1)).toEqual(['2025-01-05T00:00:00Z'])
  })
})

// Forms other schedulers accept, each accepted here on purpose (docs/scheduling.md, SEMANTICS §1).
describe('forms other schedulers accept', () => {
  const days = (expression: string, count: number) =>
    fires(expression, '2025-01-01T00:00:00Z', count).map((t) => t.slice(5, 10))

  test('a day-of-week range ending on SUN ends on day 7: MON-SUN is every day, SAT-SUN the weekend', () => {
    expect(days('0 0 * * MON-SUN', 7)).toEqual(days('0 0 * * *', 7))
    expect(days('0 0 * * SAT-SUN', 4)).toEqual(['01-04', '01-05', '01-11', '01-12'])
    expect(days('0 0 * * MON-SUN/2', 4)).toEqual(['01-03', '01-05', '01-06', '01-08']) // 1,3,5,7
    expect(days('0 0 * * SUN-SUN', 2)).toEqual(['01-05', '01-12']) // a range starting on Sunday keeps 0
    expect(parseCron('0 0 * * mon-sun', 'UTC').fields.daysOfWeek).toEqual([0, 1, 2, 3, 4, 5, 6])
  })

  test('a range that wraps is still refused, with a list that means it', () => {
    expect(errorOf('0 0 * * FRI-MON').message).toContain('use a list such as 5-7,1)')
    expect(errorOf('0 0 * * 5-0').message).toContain('use a list such as 5-7)')
    expect(errorOf('0 22-2 * * *').message).toContain('use a list such as 22-23,0-2)')
  })

  test('n#k inside a day-of-week list is one more day of the list', () => {
    // Fridays, and the third Tuesday (2025-01-21).
    expect(days('0 0 * * 5,2#3', 6)).toEqual(['01-03', '01-10', '01-17', '01-21', '01-24', '01-31'])
    expect(days('0 0 * * 2#3,5', 6)).toEqual(days('0 0 * * FRI,TUE#3', 6))
    // First and third Monday; the last Friday or the second Monday.
    expect(days('0 0 * * 1#1,1#3', 4)).toEqual(['01-06', '01-20', '02-03', '02-17'])
    expect(days('0 0 * * 5L,1#2', 4)).toEqual(['01-13', '01-31', '02-10', '02-28'])
    expect(parseCron('0 0 * * 5,2#3', 'UTC').describe()).toBe('at 00:00 on Friday or the third Tuesday of the month')
  })

  test('a/n starts at a and steps to the end of the field: 5/5 in minutes is 5-59/5', () => {
    expect(fires('5/5 * * * *', '2025-01-01T10:00:00Z', 13)).toEqual(
      fires('5-59/5 * * * *', '2025-01-01T10:00:00Z', 13),
    )
    expect(fires('5/5 * * * *', '2025-01-01T10:50:00Z', 2)).toEqual(['2025-01-01T10:55:00Z', '2025-01-01T11:05:00Z'])
    // Day-of-week ends at 7 (Sunday): 1/2 is Monday, Wednesday, Friday and Sunday.
    expect(parseCron('0 0 * * 1/2', 'UTC').fields.daysOfWeek).toEqual([0, 1, 3, 5])
    expect(parseCron('0 0 10/5 * *', 'UTC').fields.daysOfMonth).toEqual([10, 15, 20, 25, 30])
  })
})

describe('day-of-month and day-of-week', () => {
  test('both restricted: either matches (Vixie OR)', () => {
    expect(fires('0 0 13 * 5', '2025-06-01T00:00:00Z', 8)).toEqual([
      '2025-06-06T00:00:00Z',
      '2025-06-13T00:00:00Z',
      '2025-06-20T00:00:00Z',
      '2025-06-27T00:00:00Z',
      '2025-07-04T00:00:00Z',
      '2025-07-11T00:00:00Z',
      '2025-07-13T00:00:00Z',
      '2025-07-18T00:00:00Z',
    ])
  })

  test('only day-of-month restricted: only it counts', () => {
    expect(fires('0 0 13 * *', '2025-06-01T00:00:00Z', 2)).toEqual(['2025-06-13T00:00:00Z', '2025-07-13T00:00:00Z'])
  })

  test('only day-of-week restricted: only it counts', () => {
    expect(fires('0 0 * * 5', '2025-06-01T00:00:00Z', 2)).toEqual(['2025-06-06T00:00:00Z', '2025-06-13T00:00:00Z'])
  })

  test('"restricted" means the text is not exactly *, so */1 in day-of-month ORs in every day', () => {
    expect(fires('0 0 */1 * 5', '2025-06-01T00:00:00Z', 2)).toEqual(['2025-06-02T00:00:00Z', '2025-06-03T00:00:00Z'])
  })

  test('the local date decides the weekday', () => {
    // 2025-06-06 00:30 in Tokyo is Friday, but still Thursday in UTC
    expect(fires('30 0 * * 5', '2025-06-01T00:00:00Z', 1, 'Asia/Tokyo')).toEqual(['2025-06-05T15:30:00Z'])
  })
})

describe('leap days and rare schedules', () => {
  test('29 February fires only in leap years', () => {
    expect(fires('0 0 29 2 *', '2025-01-01T00:00:00Z', 3)).toEqual([
      '2028-02-29T00:00:00Z',
      '2032-02-29T00:00:00Z',
      '2036-02-29T00:00:00Z',
    ])
    // 2100 is not a leap year: eight years between 2096 and 2104
    expect(fires('0 0 29 2 *', '2096-03-01T00:00:00Z', 1)).toEqual(['2104-02-29T00:00:00Z'])
  })

  test('31 of a month skips shorter months', () => {
    expect(fires('0 0 31 * *', '2025-04-01T00:00:00Z', 3)).toEqual([
      '2025-05-31T00:00:00Z',
      '2025-07-31T00:00:00Z',
      '2025-08-31T00:00:00Z',
    ])
  })

  test('never-firing day-of-month with a day-of-week fires on the weekday (OR rule)', () => {
    expect(fires('0 0 31 2 1', '2025-01-01T00:00:00Z', 1)).toEqual(['2025-02-03T00:00:00Z'])
  })
})

describe('error messages', () => {
  test.each([
    ['', 'schedule is empty (expected 5 or 6 fields, or an alias such as @daily)'],
    ['   ', 'schedule is empty (expected 5 or 6 fields, or an alias such as @daily)'],
    ['* * * *', 'expected 5 or 6 fields, got 4 in "* * * *"'],
    ['* * * * * * *', 'expected 5 or 6 fields, got 7 in "* * * * * * *"'],
    ['60 * * * *', 'minute 60 is out of range 0-59 in "60 * * * *"'],
    ['60 0 * * * *', 'second 60 is out of range 0-59 in "60 0 * * * *"'],
    ['0 24 * * *', 'hour 24 is out of range 0-23 in "0 24 * * *"'],
    ['0 0 0 * *', 'day-of-month 0 is out of range 1-31 in "0 0 0 * *"'],
    ['0 0 32 * *', 'day-of-month 32 is out of range 1-31 in "0 0 32 * *"'],
    ['0 0 * 13 *', 'month 13 is out of range 1-12 in "0 0 * 13 *"'],
    ['0 0 * * 8', 'day-of-week 8 is out of range 0-7 in "0 0 * * 8"'],
    ['0 0-99 * * *', 'hour 99 is out of range 0-23 in "0 0-99 * * *"'],
    ['0 0 * * foo', 'day-of-week "foo" is not valid in "0 0 * * foo" (expected 0-7 or SUN-SAT)'],
    ['0 0 * foo *', 'month "foo" is not valid in "0 0 * foo *" (expected 1-12 or JAN-DEC)'],
    ['x * * * *', 'minute "x" is not valid in "x * * * *" (expected 0-59)'],
    ['0 0 * * MON#6', 'day-of-week "MON#6" is not valid in "0 0 * * MON#6" (the occurrence after # must be 1-5)'],
    ['0 0 * * 1#2,3#6', 'day-of-week "3#6" is not valid in "0 0 * * 1#2,3#6" (the occurrence after # must be 1-5)'],
    [
      '1,,2 * * * *',
      'minute "1,,2" is not valid in "1,,2 * * * *" (expected 0-59, a range a-b, a step */n or a-b/n, or a list)',
    ],
    ['*/0 * * * *', 'minute step "*/0" is not valid in "*/0 * * * *" (expected a whole number from 1 to 59 after /)'],
    ['0 */x * * *', 'hour step "*/x" is not valid in "0 */x * * *" (expected a whole number from 1 to 23 after /)'],
    [
      '30-10 * * * *',
      'minute range "30-10" is not valid in "30-10 * * * *" (30 is greater than 10; ranges do not wrap around, use a list such as 30-59,0-10)',
    ],
    [
      '0 0 * * FRI-MON',
      'day-of-week range "FRI-MON" is not valid in "0 0 * * FRI-MON" (5 is greater than 1; ranges do not wrap around, use a list such as 5-7,1)',
    ],
    [
      '@reboot',
      'unknown alias "@reboot" in "@reboot" (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)',
    ],
    ['@daily 5', 'alias "@daily" must stand alone in "@daily 5"'],
    ['0 0 31 2 *', '"0 0 31 2 *" never fires (no day matches)'],
    ['0 0 30,31 2 *', '"0 0 30,31 2 *" never fires (no day matches)'],
    ['0 0 31 4,6,9,11 *', '"0 0 31 4,6,9,11 *" never fires (no day matches)'],
  ])('%j', (expression, message) => {
    expect(errorOf(expression).message).toBe(message)
  })

  test('did you mean', () => {
    expect(errorOf('@daly').suggestions).toEqual(['did you mean "@daily"?'])
    expect(errorOf('@hourli').suggestions).toEqual(['did you mean "@hourly"?'])
    expect(errorOf('@reboot').suggestions).toEqual([])
    expect(errorOf('0 0 * * MONN').suggestions).toEqual(['did you mean "MON"?'])
    expect(errorOf('0 0 * JANU *').suggestions).toEqual(['did you mean "JAN"?'])
  })

  test('unsupported forms are errors, not silently different schedules', () => {
    for (const expression of ['H * * * *', '0 0 ? * *', '0 0 15W * *', '0 0 * * L', '0 0 L/2 * *', '0 0 LW * *']) {
      errorOf(expression)
    }
  })

  test('an unknown zone is ZONE_UNKNOWN with a suggestion', () => {
    try {
      parseCron('0 0 * * *', 'Europe/Berln')
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(CronsError)
      expect((error as CronsError).code).toBe('ZONE_UNKNOWN')
      expect((error as CronsError).message).toContain('"Europe/Berln"')
      expect((error as CronsError).suggestions).toEqual(['did you mean "Europe/Berlin"?'])
    }
  })
})
