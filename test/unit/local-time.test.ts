/** Local times in output: wall time, zone abbreviation and offset in the job's zone, across DST. */
import { describe, expect, test } from 'vitest'
import { formatLocal, formatLocalShort } from '../../src/cli/local-time.js'

describe('formatLocal', () => {
  test('the known shapes', () => {
    const ms = Date.parse('2025-03-09T07:00:00Z')
    expect(formatLocal(ms, 'America/New_York')).toBe('2025-03-09 03:00:00 EDT (-04:00)')
    expect(formatLocal(ms, 'UTC')).toBe('2025-03-09 07:00:00 UTC (+00:00)')
    expect(formatLocalShort(ms, 'Europe/Berlin')).toBe('2025-03-09 08:00:00 GMT+1')
  })

  test('either side of a transition, and a 30-minute zone', () => {
    expect(formatLocal(Date.parse('2025-03-09T06:59:59Z'), 'America/New_York')).toBe('2025-03-09 01:59:59 EST (-05:00)')
    expect(formatLocal(Date.parse('2025-04-05T15:00:00Z'), 'Australia/Lord_Howe')).toBe(
      '2025-04-06 01:30:00 GMT+10:30 (+10:30)',
    )
  })
})
