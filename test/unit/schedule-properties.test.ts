/**
 * Whole-year properties in DST zones, cross-checks against croner and cron-parser where they are
 * trustworthy (UTC, no DST), interval and one-off schedules, zone helpers and descriptions.
 */
import { CronExpressionParser } from 'cron-parser'
import { Cron } from 'croner'
import { describe, expect, test } from 'vitest'
import { CronsError } from '../../src/errors.js'
import { atSchedule, everySchedule, isValidZone, localZone, nextFires, parseCron } from '../../src/schedule/index.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

/** Local date, hour and minute of `instant` in `zone`, from Intl (independent of the code under test). */
const formats = new Map<string, Intl.DateTimeFormat>()
function wallOf(instant: number, zone: string): { date: string; hour: number; minute: number; local: number } {
  let format = formats.get(zone)
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    })
    formats.set(zone, format)
  }
  const parts = format.formatToParts(instant)
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? ''
  const date = `${get('year')}-${get('month')}-${get('day')}`
  const hour = Number(get('hour'))
  const minute = Number(get('minute'))
  /** The wall reading as a number of minutes, to compare readings across a jump. */
  const local = Date.parse(`${date}T00:00:00Z`) / MINUTE + hour * 60 + minute
  return { date, hour, minute, local }
}

function firesBetween(expression: string, zone: string, from: number, to: number): number[] {
  const schedule = parseCron(expression, zone)
  const fires: number[] = []
  for (let t = schedule.next(from); t !== null && t < to; t = schedule.next(t)) fires.push(t)
  return fires
}

const YEARS: [zone: string, year: number][] = [
  ['America/New_York', 2025],
  ['Europe/London', 2025],
  ['Europe/Berlin', 2025],
  ['Australia/Sydney', 2025],
  ['Australia/Lord_Howe', 2025],
  ['Pacific/Chatham', 2025],
  ['America/Sao_Paulo', 2018],
  ['Asia/Kolkata', 2025],
  ['UTC', 2024],
]

describe.each(YEARS)('a whole year in %s (%i)', (zone, year) => {
  const from = Date.UTC(year, 0, 1)
  const to = Date.UTC(year + 1, 0, 1)

  test('*/15 * * * * fires at every quarter-hour instant: strictly increasing, none lost, none doubled', () => {
    const fires = firesBetween('*/15 * * * *', zone, from - 1, to)
    expect(fires.length).toBe((to - from) / (15 * MINUTE))
    fires.forEach((t, i) => {
      if (t !== from + i * 15 * MINUTE)
        expect(new Date(t).toISOString()).toBe(new Date(from + i * 15 * MINUTE).toISOString())
    })
  })

  test.each(['30 2 * * *', '45 1 * * *', '0 0 * * *', '0 3 * * *', '59 23 * * *'])(
    'fixed-hour %s fires exactly once on every local day, at the named time or at the end of a gap',
    (expression) => {
      const schedule = parseCron(expression, zone)
      const [minute, hour] = expression.split(' ').map(Number) as [number, number]
      const perDay = new Map<string, number>()
      const wrong: string[] = []
      let previous = Number.NEGATIVE_INFINITY
      for (let t = schedule.next(from - 2 * 86_400_000); t !== null && t < to + 2 * 86_400_000; t = schedule.next(t)) {
        if (t <= previous) wrong.push(`${new Date(t).toISOString()} does not increase`)
        previous = t
        const wall = wallOf(t, zone)
        const named = wall.hour === hour && wall.minute === minute
        // a gap fire: the clock jumped forward at t, over the named time
        const before = wallOf(t - MINUTE, zone).local
        const namedToday = Date.parse(`${wall.date}T00:00:00Z`) / MINUTE + hour * 60 + minute
        const gapFire = before < namedToday && namedToday < wall.local && wall.local - before > 1
        if (!named && !gapFire) wrong.push(`${new Date(t).toISOString()} is ${JSON.stringify(wall)}`)
        perDay.set(wall.date, (perDay.get(wall.date) ?? 0) + 1)
      }
      expect(wrong).toEqual([])
      const days = [...perDay.entries()].filter(([date]) => date.startsWith(String(year)))
      const daysInYear = (Date.UTC(year + 1, 0, 1) - Date.UTC(year, 0, 1)) / 86_400_000
      expect(days.length).toBe(daysInYear)
      expect(days.filter(([, count]) => count !== 1)).toEqual([])
    },
  )

  test('hour-wildcard 7,37 * * * * fires only at matching wall times, strictly increasing', () => {
    const fires = firesBetween('7,37 * * * *', zone, from, to)
    const wrong = fires.filter((t, i) => t <= (fires[i - 1] ?? 0) || ![7, 37].includes(wallOf(t, zone).minute))
    expect(wrong.map((t) => new Date(t).toISOString())).toEqual([])
    // every real half-hour has exactly one such minute, so the count equals the real half-hours
    expect(fires.length).toBe((to - from) / (30 * MINUTE))
  })
})

describe('repeated calls', () => {
  test('next(next(t)) never returns the same instant, across a DST year, for 6-field expressions too', () => {
    const schedule = parseCron('*/20 */7 1-3 * * *', 'America/New_York')
    let t = Date.UTC(2025, 0, 1)
    const seen = new Set<number>()
    for (let i = 0; i < 5000; i++) {
      const next = schedule.next(t)
      if (next === null) break
      expect(next).toBeGreaterThan(t)
      expect(seen.has(next)).toBe(false)
      seen.add(next)
      t = next
    }
  })

  test('rare schedules return within the search limit instead of hanging', () => {
    const schedule = parseCron('0 0 29 2 *', 'Pacific/Chatham')
    expect(nextFires(schedule, Date.UTC(2025, 0, 1), 3).map((t) => wallOf(t, 'Pacific/Chatham').date)).toEqual([
      '2028-02-29',
      '2032-02-29',
      '2036-02-29',
    ])
  })
})

/** Small deterministic PRNG so failures reproduce. */
function random(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1664525 + 1013904223) % 4294967296
    return state / 4294967296
  }
}

function randomField(rand: () => number, min: number, max: number, wildcardBias: number): string {
  const pick = (): number => min + Math.floor(rand() * (max - min + 1))
  const r = rand()
  if (r < wildcardBias) return '*'
  if (r < wildcardBias + 0.2) return String(pick())
  if (r < wildcardBias + 0.35) return `*/${2 + Math.floor(rand() * 5)}`
  const a = pick()
  const b = Math.min(max, a + Math.floor(rand() * (max - min)))
  if (r < wildcardBias + 0.5) return `${a}-${b}`
  if (r < wildcardBias + 0.6) return `${a}-${b}/${2 + Math.floor(rand() * 3)}`
  return [...new Set([pick(), pick(), pick()])].join(',')
}

describe('agrees with croner and cron-parser in UTC', () => {
  const rand = random(20250101)
  const cases = Array.from({ length: 150 }, () => {
    const expression = [
      randomField(rand, 0, 59, 0.1),
      randomField(rand, 0, 23, 0.2),
      randomField(rand, 1, 31, 0.6),
      randomField(rand, 1, 12, 0.6),
      randomField(rand, 0, 6, 0.6),
    ].join(' ')
    const from = Date.UTC(2020, 0, 1) + Math.floor(rand() * 10 * 365) * 86_400_000 + Math.floor(rand() * 86_400) * 1000
    return [expression, from] as const
  })

  test.each(cases)('%s from %i', (expression, from) => {
    let ours: number[]
    try {
      ours = nextFires(parseCron(expression, 'UTC'), from, 25)
    } catch (error) {
      // only never-firing day/month combinations may be refused
      expect((error as CronsError).message).toMatch(/never fires/)
      return
    }
    const parser = CronExpressionParser.parse(expression, { currentDate: new Date(from), tz: 'UTC' })
    expect(ours).toEqual(parser.take(25).map((d) => d.getTime()))
    // croner 9 skips the 1st of a month after a */n day-of-month step (26 Feb → 6 Mar for */5),
    // so it only gets a say when day-of-month has no step
    if (!expression.split(' ')[2]?.includes('/')) {
      const croner = new Cron(expression, { timezone: 'UTC', legacyMode: true }).nextRuns(25, new Date(from))
      expect(ours).toEqual(croner.map((d) => d.getTime()))
    }
  })

  test.each(['0 0 L * *', '0 12 * * 5L', '0 12 * * 1#2', '0 0 1,L * *', '30 5 * * 0#5'])('%s', (expression) => {
    const from = Date.UTC(2024, 0, 1)
    const parser = CronExpressionParser.parse(expression, { currentDate: new Date(from), tz: 'UTC' })
    expect(nextFires(parseCron(expression, 'UTC'), from, 24)).toEqual(parser.take(24).map((d) => d.getTime()))
  })
})

describe('every', () => {
  test('slots are multiples of the interval since the epoch, whatever `after` is', () => {
    const schedule = everySchedule(5 * MINUTE, 'UTC', 'every 5m')
    expect(schedule.kind).toBe('every')
    expect(schedule.text).toBe('every 5m')
    expect(schedule.next(Date.parse('2025-05-15T10:22:30Z'))).toBe(Date.parse('2025-05-15T10:25:00Z'))
    expect(schedule.next(Date.parse('2025-05-15T10:25:00Z'))).toBe(Date.parse('2025-05-15T10:30:00Z'))
    expect(nextFires(schedule, Date.parse('2025-05-15T10:24:59.999Z'), 2)).toEqual([
      Date.parse('2025-05-15T10:25:00Z'),
      Date.parse('2025-05-15T10:30:00Z'),
    ])
  })

  test('ignores DST: a real-time cadence', () => {
    const schedule = everySchedule(90 * MINUTE, 'America/New_York', 'every 90m')
    const fires = nextFires(schedule, Date.parse('2025-11-02T04:00:00Z'), 4)
    expect(fires.map((t, i) => t - (fires[i - 1] ?? t - 90 * MINUTE))).toEqual([90, 90, 90, 90].map((m) => m * MINUTE))
    expect(fires[0] as number).toBe(Date.parse('2025-11-02T04:30:00Z'))
  })

  test('describes itself', () => {
    expect(everySchedule(5 * MINUTE, 'UTC', 'every 5m').describe()).toBe('every 5 minutes')
    expect(everySchedule(HOUR, 'UTC', 'every 1h').describe()).toBe('every hour')
    expect(everySchedule(90 * MINUTE, 'UTC', 'every 90m').describe()).toBe('every 1 hour 30 minutes')
    expect(everySchedule(30_000, 'UTC', 'every 30s').describe()).toBe('every 30 seconds')
  })

  test.each([0, -1, Number.NaN, 1.5, Number.POSITIVE_INFINITY])('rejects interval %d', (interval) => {
    expect(() => everySchedule(interval, 'UTC', 'every ?')).toThrow(CronsError)
  })
})

describe('at', () => {
  const instant = Date.parse('2026-01-01T00:00:00Z')

  test('fires once, strictly after `after`', () => {
    const schedule = atSchedule(instant, 'UTC')
    expect(schedule.kind).toBe('at')
    expect(schedule.text).toBe('at 2026-01-01T00:00:00.000Z')
    expect(schedule.next(instant - 1)).toBe(instant)
    expect(schedule.next(instant)).toBeNull()
    expect(nextFires(schedule, 0, 3)).toEqual([instant])
  })

  test('describes itself in its zone', () => {
    expect(atSchedule(instant, 'UTC').describe()).toBe('once at 2026-01-01 00:00 UTC')
    expect(atSchedule(instant, 'Europe/Berlin').describe()).toBe('once at 2026-01-01 01:00 Europe/Berlin')
    // Seconds when they are not :00; a summer instant in a zone with DST; a half-hour zone.
    const summer = Date.parse('2026-07-04T16:30:15Z')
    expect(atSchedule(summer, 'America/New_York').describe()).toBe('once at 2026-07-04 12:30:15 America/New_York')
    expect(atSchedule(summer, 'Asia/Kolkata').describe()).toBe('once at 2026-07-04 22:00:15 Asia/Kolkata')
  })
})

describe('zones', () => {
  test('isValidZone', () => {
    for (const zone of ['UTC', 'Europe/Berlin', 'america/new_york', 'Pacific/Chatham'])
      expect(isValidZone(zone)).toBe(true)
    for (const zone of ['', 'Mars/Olympus', '+02:00', 'Europe/Berln']) expect(isValidZone(zone)).toBe(false)
  })

  test('localZone is a valid zone', () => {
    expect(isValidZone(localZone())).toBe(true)
  })

  test('every and at schedules also reject unknown zones', () => {
    expect(() => everySchedule(MINUTE, 'Nowhere/City', 'every 1m')).toThrow(/unknown time zone "Nowhere\/City"/)
    expect(() => atSchedule(0, 'Nowhere/City')).toThrow(CronsError)
  })
})

describe('describe()', () => {
  test.each([
    ['0 3 * * *', 'at 03:00 every day'],
    ['*/15 * * * *', 'every 15 minutes'],
    ['* * * * *', 'every minute'],
    ['0 * * * *', 'at minute 0 of every hour'],
    ['@hourly', 'at minute 0 of every hour'],
    ['5,10 * * * *', 'at minutes 5 and 10 of every hour'],
    ['0 9 * * 1-5', 'at 09:00 on Monday through Friday'],
    ['0 9 * * MON-FRI', 'at 09:00 on Monday through Friday'],
    ['0 9 * * 1,3,5', 'at 09:00 on Monday, Wednesday and Friday'],
    ['0,30 9 * * *', 'at 09:00 and 09:30 every day'],
    ['*/15 9-17 * * *', 'every 15 minutes between 09:00 and 17:59'],
    ['*/15 2 * * *', 'at 02:00, 02:15, 02:30 and 02:45 every day'],
    ['0 */2 * * *', 'at minute 0 of every 2nd hour'],
    ['0 9-17 * * *', 'at minute 0 of every hour between 09:00 and 17:59'],
    ['0 1,5,9,13,17 * * *', 'at minute 0 of hours 1, 5, 9, 13 and 17'],
    ['*/5 9-17 * * 1-5', 'every 5 minutes between 09:00 and 17:59 on Monday through Friday'],
    ['0 0 1 * *', 'at 00:00 on day 1 of the month'],
    ['0 0 1,15 * *', 'at 00:00 on days 1 and 15 of the month'],
    ['@yearly', 'at 00:00 on January 1'],
    ['0 0 * 1-3 *', 'at 00:00 every day in January through March'],
    ['0 0 L * *', 'at 00:00 on the last day of the month'],
    ['0 12 * * 5L', 'at 12:00 on the last Friday of the month'],
    ['0 12 * * 1#2', 'at 12:00 on the second Monday of the month'],
    ['0 0 13 * 5', 'at 00:00 on day 13 of the month or on Friday'],
    ['*/10 * * * * *', 'every 10 seconds'],
    ['30 * * * * *', 'at second 30 of every minute'],
    ['15 0 9 * * *', 'at 09:00:15 every day'],
  ])('%s → %s', (expression, text) => {
    expect(parseCron(expression, 'UTC').describe()).toBe(text)
  })
})

/**
 * An independent oracle for SEMANTICS §2: walk every real minute around a transition, read the wall
 * clock with Intl, and apply the rules literally (match → fire; fixed-hour skips a wall reading it has
 * already seen; fixed-hour fires once at a forward jump that skipped a matching reading).
 */
describe('random expressions around transitions agree with a minute-by-minute oracle', () => {
  const TRANSITIONS: [zone: string, iso: string][] = [
    ['America/New_York', '2025-03-09T07:00:00Z'],
    ['America/New_York', '2025-11-02T06:00:00Z'],
    ['Europe/London', '2025-03-30T01:00:00Z'],
    ['Europe/Berlin', '2025-10-26T01:00:00Z'],
    ['Australia/Sydney', '2025-04-05T16:00:00Z'],
    ['Australia/Sydney', '2025-10-04T16:00:00Z'],
    ['Australia/Lord_Howe', '2025-04-05T15:00:00Z'],
    ['Australia/Lord_Howe', '2025-10-04T15:30:00Z'],
    ['Pacific/Chatham', '2025-04-05T14:00:00Z'],
    ['Pacific/Chatham', '2025-09-27T14:00:00Z'],
    ['America/Sao_Paulo', '2018-02-18T02:00:00Z'],
    ['America/Sao_Paulo', '2018-11-04T03:00:00Z'],
  ]
  const rand = random(7)
  const hourField = (): string => {
    const r = rand()
    if (r < 0.25) return '*'
    if (r < 0.5) return String([0, 1, 2, 3, 23][Math.floor(rand() * 5)])
    if (r < 0.7) return `${Math.floor(rand() * 3)}-${2 + Math.floor(rand() * 3)}`
    if (r < 0.85) return `*/${1 + Math.floor(rand() * 4)}`
    return '0,2,23'
  }

  test.each(TRANSITIONS)('%s %s', (zone, iso) => {
    const transition = Date.parse(iso)
    const begin = transition - 30 * HOUR
    const walls = Array.from({ length: 60 * 60 }, (_, i) => wallOf(begin + i * MINUTE, zone))
    for (let n = 0; n < 25; n++) {
      const dow = rand() < 0.7 ? '*' : `${Math.floor(rand() * 7)},${Math.floor(rand() * 7)}`
      const expression = `${randomField(rand, 0, 59, 0.15)} ${hourField()} * * ${dow}`
      const schedule = parseCron(expression, zone)
      const { minutes, hours, daysOfWeek } = schedule.fields
      const matches = (local: number): boolean => {
        const minuteOfDay = ((local % 1440) + 1440) % 1440
        const weekday = new Date(local * MINUTE).getUTCDay()
        return (
          minutes.includes(minuteOfDay % 60) &&
          hours.includes(Math.floor(minuteOfDay / 60)) &&
          (dow === '*' || daysOfWeek.includes(weekday))
        )
      }
      const expected: number[] = []
      const seen = new Set<number>()
      walls.forEach((wall, i) => {
        const t = begin + i * MINUTE
        const previous = walls[i - 1]
        let fire = matches(wall.local) && (schedule.isHourWildcard || !seen.has(wall.local))
        if (!fire && !schedule.isHourWildcard && previous !== undefined && wall.local - previous.local > 1) {
          for (let skipped = previous.local + 1; skipped < wall.local; skipped++) fire ||= matches(skipped)
        }
        if (fire && t > begin + 6 * HOUR) expected.push(t)
        seen.add(wall.local)
      })
      const actual = firesBetween(expression, zone, begin + 6 * HOUR, begin + 60 * HOUR)
      expect(
        actual.map((t) => new Date(t).toISOString()),
        expression,
      ).toEqual(expected.map((t) => new Date(t).toISOString()))
    }
  })
})
