/**
 * SEMANTICS §2, rule by rule, with instants worked out by hand from each zone's tz rules:
 * hour-wildcard jobs keep their real-time cadence (skip the gap, run both passes of a repeat),
 * fixed-hour jobs run exactly once per named time (at the end of a gap, on the first pass of a repeat).
 */
import { describe, expect, test } from 'vitest'
import { nextFires, parseCron } from '../../src/schedule/index.js'

/** The next `count` fires after `from`, as ISO strings without milliseconds. */
function fires(expression: string, zone: string, from: string, count: number): string[] {
  return nextFires(parseCron(expression, zone), Date.parse(from), count).map((t) =>
    new Date(t).toISOString().replace('.000Z', 'Z'),
  )
}

describe('hour-wildcard vs fixed-hour', () => {
  test.each([
    ['*/15 * * * *', true],
    ['0 * * * *', true],
    ['@hourly', true],
    ['0 0-23 * * *', true],
    ['0 */1 * * *', true],
    ['* * * * *', true],
    ['30 2 * * *', false],
    ['0 9 * * *', false],
    ['0 */2 * * *', false],
    ['*/15 1 * * *', false],
    ['@daily', false],
    ['0 0-22 * * *', false],
  ])('%s → hour-wildcard %s', (expression, expected) => {
    expect(parseCron(expression, 'UTC').isHourWildcard).toBe(expected)
  })
})

describe('America/New_York (EST -5 / EDT -4; 2025-03-09 02:00→03:00, 2025-11-02 02:00→01:00)', () => {
  const zone = 'America/New_York'

  test('spring forward: fixed-hour slot in the gap runs once at the transition instant', () => {
    expect(fires('30 2 * * *', zone, '2025-03-08T12:00:00Z', 3)).toEqual([
      '2025-03-09T07:00:00Z',
      '2025-03-10T06:30:00Z',
      '2025-03-11T06:30:00Z',
    ])
  })

  test('spring forward: several gap slots collapse into one run', () => {
    expect(fires('*/15 2 * * *', zone, '2025-03-08T12:00:00Z', 3)).toEqual([
      '2025-03-09T07:00:00Z',
      '2025-03-10T06:00:00Z',
      '2025-03-10T06:15:00Z',
    ])
  })

  test('spring forward: the gap run is not repeated when asked again from the transition instant', () => {
    expect(fires('30 2 * * *', zone, '2025-03-09T07:00:00Z', 1)).toEqual(['2025-03-10T06:30:00Z'])
  })

  test('spring forward: hour-wildcard job skips the missing hour and keeps its cadence', () => {
    expect(fires('*/30 * * * *', zone, '2025-03-09T06:00:00Z', 4)).toEqual([
      '2025-03-09T06:30:00Z', // 01:30 EST
      '2025-03-09T07:00:00Z', // 03:00 EDT
      '2025-03-09T07:30:00Z',
      '2025-03-09T08:00:00Z',
    ])
  })

  test('spring forward: fixed-hour job outside the gap is unaffected', () => {
    expect(fires('0 9 * * *', zone, '2025-03-08T00:00:00Z', 3)).toEqual([
      '2025-03-08T14:00:00Z',
      '2025-03-09T13:00:00Z',
      '2025-03-10T13:00:00Z',
    ])
  })

  test('fall back: fixed-hour job runs once, on the first pass', () => {
    expect(fires('30 1 * * *', zone, '2025-11-01T12:00:00Z', 3)).toEqual([
      '2025-11-02T05:30:00Z',
      '2025-11-03T06:30:00Z',
      '2025-11-04T06:30:00Z',
    ])
  })

  test('fall back: several fixed-hour slots in the repeated hour all run on the first pass only', () => {
    expect(fires('*/20 1 * * *', zone, '2025-11-02T04:00:00Z', 4)).toEqual([
      '2025-11-02T05:00:00Z',
      '2025-11-02T05:20:00Z',
      '2025-11-02T05:40:00Z',
      '2025-11-03T06:00:00Z',
    ])
  })

  test('fall back: hour-wildcard job runs on both passes', () => {
    expect(fires('30 * * * *', zone, '2025-11-02T04:00:00Z', 4)).toEqual([
      '2025-11-02T04:30:00Z', // 00:30 EDT
      '2025-11-02T05:30:00Z', // 01:30 EDT
      '2025-11-02T06:30:00Z', // 01:30 EST
      '2025-11-02T07:30:00Z', // 02:30 EST
    ])
  })

  test('fall back: asked between the passes, the fixed-hour slot counts as served', () => {
    expect(fires('30 1 * * *', zone, '2025-11-02T06:00:00Z', 1)).toEqual(['2025-11-03T06:30:00Z'])
    expect(fires('30 1 * * *', zone, '2025-11-02T05:30:00Z', 1)).toEqual(['2025-11-03T06:30:00Z'])
    expect(fires('45 1 * * *', zone, '2025-11-02T05:30:00Z', 1)).toEqual(['2025-11-02T05:45:00Z'])
  })

  test('fall back: asked between the passes, the hour-wildcard job still gets the second pass', () => {
    // wall time at 06:10Z is 01:10 EST, earlier than wall time at 05:50Z (01:50 EDT)
    expect(fires('30 * * * *', zone, '2025-11-02T05:50:00Z', 2)).toEqual([
      '2025-11-02T06:30:00Z',
      '2025-11-02T07:30:00Z',
    ])
    expect(fires('*/20 * * * *', zone, '2025-11-02T05:50:00Z', 3)).toEqual([
      '2025-11-02T06:00:00Z',
      '2025-11-02T06:20:00Z',
      '2025-11-02T06:40:00Z',
    ])
  })

  test('6-field expression in the repeated hour', () => {
    expect(fires('30 30 1 * * *', zone, '2025-11-02T05:00:00Z', 2)).toEqual([
      '2025-11-02T05:30:30Z',
      '2025-11-03T06:30:30Z',
    ])
  })
})

describe('Europe/London (GMT 0 / BST +1; 2025-03-30 01:00→02:00, 2025-10-26 02:00→01:00)', () => {
  const zone = 'Europe/London'

  test('spring forward', () => {
    expect(fires('30 1 * * *', zone, '2025-03-29T00:00:00Z', 3)).toEqual([
      '2025-03-29T01:30:00Z',
      '2025-03-30T01:00:00Z',
      '2025-03-31T00:30:00Z',
    ])
    expect(fires('*/30 * * * *', zone, '2025-03-30T00:15:00Z', 3)).toEqual([
      '2025-03-30T00:30:00Z', // 00:30 GMT
      '2025-03-30T01:00:00Z', // 02:00 BST
      '2025-03-30T01:30:00Z',
    ])
  })

  test('fall back', () => {
    expect(fires('30 1 * * *', zone, '2025-10-25T12:00:00Z', 2)).toEqual([
      '2025-10-26T00:30:00Z',
      '2025-10-27T01:30:00Z',
    ])
    expect(fires('*/30 * * * *', zone, '2025-10-25T23:45:00Z', 5)).toEqual([
      '2025-10-26T00:00:00Z', // 01:00 BST
      '2025-10-26T00:30:00Z', // 01:30 BST
      '2025-10-26T01:00:00Z', // 01:00 GMT
      '2025-10-26T01:30:00Z', // 01:30 GMT
      '2025-10-26T02:00:00Z',
    ])
  })
})

describe('Europe/Berlin (CET +1 / CEST +2; 2025-03-30 02:00→03:00, 2025-10-26 03:00→02:00)', () => {
  const zone = 'Europe/Berlin'

  test('spring forward', () => {
    expect(fires('30 2 * * *', zone, '2025-03-29T00:00:00Z', 3)).toEqual([
      '2025-03-29T01:30:00Z',
      '2025-03-30T01:00:00Z',
      '2025-03-31T00:30:00Z',
    ])
    expect(fires('0 * * * *', zone, '2025-03-29T23:30:00Z', 3)).toEqual([
      '2025-03-30T00:00:00Z', // 01:00 CET
      '2025-03-30T01:00:00Z', // 03:00 CEST
      '2025-03-30T02:00:00Z',
    ])
  })

  test('fall back', () => {
    expect(fires('30 2 * * *', zone, '2025-10-25T12:00:00Z', 2)).toEqual([
      '2025-10-26T00:30:00Z',
      '2025-10-27T01:30:00Z',
    ])
    expect(fires('15 2 * * *', zone, '2025-10-26T01:00:00Z', 1)).toEqual(['2025-10-27T01:15:00Z'])
    expect(fires('0 * * * *', zone, '2025-10-25T23:30:00Z', 3)).toEqual([
      '2025-10-26T00:00:00Z', // 02:00 CEST
      '2025-10-26T01:00:00Z', // 02:00 CET
      '2025-10-26T02:00:00Z',
    ])
  })
})

describe('Australia/Sydney (AEST +10 / AEDT +11; 2025-04-06 03:00→02:00, 2025-10-05 02:00→03:00)', () => {
  const zone = 'Australia/Sydney'

  test('spring forward (October)', () => {
    expect(fires('30 2 * * *', zone, '2025-10-03T00:00:00Z', 3)).toEqual([
      '2025-10-03T16:30:00Z',
      '2025-10-04T16:00:00Z',
      '2025-10-05T15:30:00Z',
    ])
  })

  test('fall back (April)', () => {
    expect(fires('30 2 * * *', zone, '2025-04-05T00:00:00Z', 2)).toEqual([
      '2025-04-05T15:30:00Z',
      '2025-04-06T16:30:00Z',
    ])
    expect(fires('30 * * * *', zone, '2025-04-05T15:00:00Z', 3)).toEqual([
      '2025-04-05T15:30:00Z',
      '2025-04-05T16:30:00Z',
      '2025-04-05T17:30:00Z',
    ])
  })
})

describe('Australia/Lord_Howe (+10:30 / +11, 30-minute shifts)', () => {
  const zone = 'Australia/Lord_Howe'

  test('spring forward 2025-10-05 02:00→02:30 (15:30Z)', () => {
    expect(fires('15 2 * * *', zone, '2025-10-03T00:00:00Z', 3)).toEqual([
      '2025-10-03T15:45:00Z',
      '2025-10-04T15:30:00Z',
      '2025-10-05T15:15:00Z',
    ])
    expect(fires('0 2 * * *', zone, '2025-10-04T12:00:00Z', 1)).toEqual(['2025-10-04T15:30:00Z'])
    expect(fires('*/15 * * * *', zone, '2025-10-04T15:00:00Z', 3)).toEqual([
      '2025-10-04T15:15:00Z', // 01:45 +10:30
      '2025-10-04T15:30:00Z', // 02:30 +11 (02:00 and 02:15 do not exist)
      '2025-10-04T15:45:00Z',
    ])
  })

  test('fall back 2025-04-06 02:00→01:30 (15:00Z)', () => {
    expect(fires('45 1 * * *', zone, '2025-04-05T00:00:00Z', 2)).toEqual([
      '2025-04-05T14:45:00Z',
      '2025-04-06T15:15:00Z',
    ])
    expect(fires('*/15 * * * *', zone, '2025-04-05T14:30:00Z', 5)).toEqual([
      '2025-04-05T14:45:00Z', // 01:45 +11
      '2025-04-05T15:00:00Z', // 01:30 +10:30
      '2025-04-05T15:15:00Z', // 01:45 +10:30
      '2025-04-05T15:30:00Z',
      '2025-04-05T15:45:00Z',
    ])
  })
})

describe('Pacific/Chatham (+12:45 / +13:45, transitions at 02:45 / 03:45 local)', () => {
  const zone = 'Pacific/Chatham'

  test('spring forward 2025-09-28 02:45→03:45 (2025-09-27T14:00Z)', () => {
    expect(fires('0 3 * * *', zone, '2025-09-26T00:00:00Z', 3)).toEqual([
      '2025-09-26T14:15:00Z',
      '2025-09-27T14:00:00Z',
      '2025-09-28T13:15:00Z',
    ])
    expect(fires('0 * * * *', zone, '2025-09-27T13:00:00Z', 2)).toEqual([
      '2025-09-27T13:15:00Z', // 02:00 +12:45
      '2025-09-27T14:15:00Z', // 04:00 +13:45 (03:00 does not exist)
    ])
  })

  test('fall back 2025-04-06 03:45→02:45 (2025-04-05T14:00Z)', () => {
    expect(fires('0 3 * * *', zone, '2025-04-04T20:00:00Z', 2)).toEqual([
      '2025-04-05T13:15:00Z',
      '2025-04-06T14:15:00Z',
    ])
    expect(fires('0 * * * *', zone, '2025-04-05T12:00:00Z', 4)).toEqual([
      '2025-04-05T12:15:00Z', // 02:00 +13:45
      '2025-04-05T13:15:00Z', // 03:00 +13:45
      '2025-04-05T14:15:00Z', // 03:00 +12:45
      '2025-04-05T15:15:00Z', // 04:00 +12:45
    ])
  })
})

describe('America/Sao_Paulo 2018 (-03 / -02, transitions at midnight)', () => {
  const zone = 'America/Sao_Paulo'

  test('spring forward 2018-11-04 00:00→01:00 (03:00Z): midnight runs at the transition', () => {
    expect(fires('0 0 * * *', zone, '2018-11-02T12:00:00Z', 3)).toEqual([
      '2018-11-03T03:00:00Z',
      '2018-11-04T03:00:00Z',
      '2018-11-05T02:00:00Z',
    ])
    expect(fires('0 0 4 11 *', zone, '2018-01-01T00:00:00Z', 1)).toEqual(['2018-11-04T03:00:00Z'])
    expect(fires('0 * * * *', zone, '2018-11-04T01:30:00Z', 3)).toEqual([
      '2018-11-04T02:00:00Z', // 23:00 -03
      '2018-11-04T03:00:00Z', // 01:00 -02
      '2018-11-04T04:00:00Z',
    ])
  })

  test('fall back 2018-02-18 00:00→2018-02-17 23:00 (02:00Z): 23:xx of the 17th repeats', () => {
    expect(fires('30 23 * * *', zone, '2018-02-16T12:00:00Z', 3)).toEqual([
      '2018-02-17T01:30:00Z',
      '2018-02-18T01:30:00Z',
      '2018-02-19T02:30:00Z',
    ])
    expect(fires('30 * * * *', zone, '2018-02-18T00:00:00Z', 4)).toEqual([
      '2018-02-18T00:30:00Z', // 22:30 -02
      '2018-02-18T01:30:00Z', // 23:30 -02
      '2018-02-18T02:30:00Z', // 23:30 -03
      '2018-02-18T03:30:00Z', // 00:30 -03 on the 18th
    ])
    expect(fires('0 0 * * *', zone, '2018-02-17T12:00:00Z', 2)).toEqual([
      '2018-02-18T03:00:00Z',
      '2018-02-19T03:00:00Z',
    ])
    expect(fires('0 23 17 2 *', zone, '2018-02-18T01:30:00Z', 1)).toEqual(['2019-02-18T02:00:00Z'])
  })
})

// Zone offsets are tabled per month: transitions on or right around the first of a month sit at the
// seam between two tables (the later month's lookback must see the change).
describe('transitions at a month boundary', () => {
  test('New York fall-back on 2026-11-01 (02:00 EDT → 01:00 EST at 06:00Z)', () => {
    const zone = 'America/New_York'
    expect(fires('0 * * * *', zone, '2026-11-01T03:30:00Z', 4)).toEqual([
      '2026-11-01T04:00:00Z', // 00:00 EDT
      '2026-11-01T05:00:00Z', // 01:00 EDT
      '2026-11-01T06:00:00Z', // 01:00 EST, the second pass
      '2026-11-01T07:00:00Z', // 02:00 EST
    ])
    expect(fires('30 1 * * *', zone, '2026-10-31T12:00:00Z', 2)).toEqual([
      '2026-11-01T05:30:00Z', // first pass only
      '2026-11-02T06:30:00Z',
    ])
  })

  test('Sydney spring-forward on 2023-10-01 (02:00 AEST → 03:00 AEDT at 2023-09-30T16:00Z)', () => {
    const zone = 'Australia/Sydney'
    expect(fires('30 2 * * *', zone, '2023-09-30T10:00:00Z', 2)).toEqual([
      '2023-09-30T16:00:00Z', // in the gap: at its end
      '2023-10-01T15:30:00Z', // 02:30 AEDT
    ])
    expect(fires('0 * * * *', zone, '2023-09-30T14:30:00Z', 3)).toEqual([
      '2023-09-30T15:00:00Z', // 01:00 AEST
      '2023-09-30T16:00:00Z', // 03:00 AEDT (02:00 does not exist)
      '2023-09-30T17:00:00Z',
    ])
  })
})
