/**
 * Local times for output are formatted from the schedule's offset tables, not luxon, but must read
 * exactly as luxon's `toFormat` would: checked against luxon itself across zones, DST transitions
 * and the cases handed back to luxon.
 */
import { createRequire } from 'node:module'
import { describe, expect, test } from 'vitest'
import { formatLocal, formatLocalShort } from '../../src/cli/local-time.js'

const { DateTime } = createRequire(import.meta.url)('luxon') as typeof import('luxon')

const UTC_NAMES = /^(?:utc|gmt)$/i
const luxon = (ms: number, zone: string) => DateTime.fromMillis(ms, { zone }).toFormat('yyyy-MM-dd HH:mm:ss')
const offset = (ms: number, zone: string) => DateTime.fromMillis(ms, { zone }).toFormat('ZZ')
const luxonLong = (ms: number, zone: string) =>
  UTC_NAMES.test(zone) ? `${luxon(ms, zone)} UTC` : `${luxon(ms, zone)} ${zone} (UTC${offset(ms, zone)})`
const luxonShort = (ms: number, zone: string) =>
  UTC_NAMES.test(zone) ? `${luxon(ms, zone)} UTC` : `${luxon(ms, zone)} (UTC${offset(ms, zone)})`

const ZONES = [
  'UTC',
  'utc',
  'GMT',
  'Europe/Berlin',
  'America/New_York',
  'America/St_Johns',
  'Australia/Lord_Howe',
  'Asia/Kolkata',
  'Africa/Casablanca',
  'Pacific/Apia',
]

describe('formatLocal: the zone by name and offset, never an abbreviation such as GMT-3', () => {
  test('reads as luxon around DST transitions', () => {
    for (const zone of ZONES) {
      // Every 4 hours and a minute through 2025 (plus a second, so seconds vary): each transition day is visited at several hours.
      for (let ms = Date.UTC(2025, 0, 1); ms < Date.UTC(2026, 0, 1); ms += 241 * 60_000 + 1001) {
        expect(formatLocal(ms, zone)).toBe(luxonLong(ms, zone))
        expect(formatLocalShort(ms, zone)).toBe(luxonShort(ms, zone))
      }
    }
  })

  test('the known shapes', () => {
    const ms = Date.parse('2025-03-09T07:00:00Z')
    expect(formatLocal(ms, 'America/New_York')).toBe('2025-03-09 03:00:00 America/New_York (UTC-04:00)')
    expect(formatLocal(ms, 'America/Sao_Paulo')).toBe('2025-03-09 04:00:00 America/Sao_Paulo (UTC-03:00)')
    expect(formatLocal(ms, 'UTC')).toBe('2025-03-09 07:00:00 UTC')
    expect(formatLocalShort(ms, 'Europe/Berlin')).toBe('2025-03-09 08:00:00 (UTC+01:00)')
  })

  test('cases handed to luxon still read as luxon', () => {
    const cases: [number, string][] = [
      [Date.parse('1850-06-01T00:00:00Z'), 'Europe/Amsterdam'], // an offset with seconds
      [Date.parse('+010000-01-01T00:00:00Z'), 'UTC'], // five-digit year
      [Date.parse('2025-01-01T00:00:00Z'), 'Nowhere/Special'], // not a zone
      [Date.parse('2025-01-01T00:00:00Z'), 'UTC+3'], // a fixed offset luxon parses itself
      [1.5, 'UTC'],
    ]
    for (const [ms, zone] of cases) {
      expect(formatLocal(ms, zone)).toBe(luxonLong(ms, zone))
      expect(formatLocalShort(ms, zone)).toBe(luxonShort(ms, zone))
    }
  })
})
