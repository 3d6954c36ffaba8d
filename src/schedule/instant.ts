/**
 * The one reader of ISO-8601 instants (`at:`, `--from`, `--since`). Not `Date.parse`, which reads an
 * offset-less string as local time and rolls `02-30` over into March.
 */

export const INSTANT_EXPECTED =
  'an ISO instant with an offset such as "2026-01-01T03:00:00Z" or "2026-01-01T03:00:00+01:00"'

const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):(\d{2}))$/
const NO_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/

/** `text` as epoch ms (with `Z` or `±hh:mm`, a real date, from 1970), or what is wrong, to follow the quoted value. */
export function parseInstant(text: string, expected = INSTANT_EXPECTED): { ms: number } | { wrong: string } {
  const trimmed = text.trim()
  const match = ISO_INSTANT.exec(trimmed)
  if (!match) {
    return {
      wrong: NO_OFFSET.test(trimmed)
        ? `has no offset (expected "Z" or an offset such as "+01:00" at the end, so the instant does not depend on the machine's zone)`
        : `is not an ISO instant (expected ${expected})`,
    }
  }
  const part = (index: number): number => Number(match[index] ?? 0)
  const [year, month, day, hour, minute, second] = [part(1), part(2), part(3), part(4), part(5), part(6)]
  const [zulu, sign, offsetHours, offsetMinutes] = [match[8], match[9], part(10), part(11)]
  const millis = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3))
  const calendar = new Date(Date.UTC(year, month - 1, day))
  const valid =
    year >= 1970 &&
    calendar.getUTCMonth() === month - 1 &&
    calendar.getUTCDate() === day &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offsetHours <= 23 &&
    offsetMinutes <= 59
  if (!valid) return { wrong: `is not a real date and time (expected ${expected})` }
  const offsetMs = zulu ? 0 : (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000
  return { ms: Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMs }
}
