/** Local times in output: wall time, the zone by name and its offset, across DST. */
import { describe, expect, test } from 'vitest'
import { formatLocal, formatLocalShort } from '../../src/cli/local-time.js'

describe('formatLocal', () => {
  test('the known shapes', () => {
    const ms = Date.parse('2025-03-09T07:00:00Z')
    expect(formatLocal(ms, 'America/New_York')).toBe('2025-03-09 03:00:00 America/New_York (UTC-04:00)')
    expect(formatLocal(ms, 'America/Sao_Paulo')).toBe('2025-03-09 04:00:00 America/Sao_Paulo (UTC-03:00)')
    expect(formatLocal(ms, 'UTC')).toBe('2025-03-09 07:00:00 UTC')
    expect(formatLocalShort(ms, 'Europe/Berlin')).toBe('2025-03-09 08:00:00 (UTC+01:00)')
  })

  test('either side of a transition, and a 30-minute zone', () => {
    expect(formatLocal(Date.parse('2025-03-09T06:59:59Z'), 'America/New_York')).toBe(
      '2025-03-09 01:59:59 America/New_York (UTC-05:00)',
    )
    expect(formatLocal(Date.parse('2025-04-05T15:00:00Z'), 'Australia/Lord_Howe')).toBe(
      '2025-04-06 01:30:00 Australia/Lord_Howe (UTC+10:30)',
    )
  })
})
