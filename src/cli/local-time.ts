/**
 * Instants as wall time in a zone, with the zone's offset, in the text luxon's `toFormat` gives for
 * `yyyy-MM-dd HH:mm:ss` and `ZZ`, but from the schedule's own offset tables: loading luxon costs a CLI
 * start more than everything it formats. Anything outside the cases reproduced here (fixed-offset
 * zone names, instants outside the years 0-9999, offsets with seconds) is formatted by luxon itself,
 * so the output never depends on which path ran.
 */
import { createRequire } from 'node:module'
import { formatWall } from '../schedule/calendar.js'
import { zoneOffsets } from '../schedule/zone.js'

type DateTimeClass = typeof import('luxon').DateTime

let luxon: DateTimeClass | undefined

/**
 * luxon through require: cron-parser (CommonJS) requires it too, and an ESM import would load a
 * second copy of it.
 */
function dateTime(): DateTimeClass {
  luxon ??= (createRequire(import.meta.url)('luxon') as typeof import('luxon')).DateTime
  return luxon
}

/** The wall time and the zone's offset from UTC, or null where luxon must format it. */
interface Wall {
  text: string
  /** `+01:00`, `-05:00`. */
  offset: string
}

const MINUTE = 60_000
/** Last instant of the year 9999 UTC less a day, for the offset (the first allowed is checked in wallTime). */
const LAST = 253_402_300_799_999 - 86_400_000

/**
 * "2025-03-09 03:00:00 America/New_York (UTC-04:00)": the zone by its name and its offset at that
 * instant, never an abbreviation such as "GMT-3" that names neither. UTC is just "UTC".
 */
export function formatLocal(ms: number, zone: string): string {
  const wall = wallOf(ms, zone)
  return isUtc(zone, wall) ? `${wall.text} UTC` : `${wall.text} ${zone} (UTC${wall.offset})`
}

/** "2025-03-09 03:00:00 (UTC-04:00)", for a cell whose zone is named beside it. UTC is just "UTC". */
export function formatLocalShort(ms: number, zone: string): string {
  const wall = wallOf(ms, zone)
  return isUtc(zone, wall) ? `${wall.text} UTC` : `${wall.text} (UTC${wall.offset})`
}

function isUtc(zone: string, wall: Wall): boolean {
  return wall.offset === '+00:00' && /^(?:etc\/)?(?:utc|gmt|zulu|uct)$/i.test(zone)
}

function wallOf(ms: number, zone: string): Wall {
  const wall = wallTime(ms, zone)
  if (wall !== null) return wall
  const time = dateTime().fromMillis(ms, { zone })
  return { text: time.toFormat('yyyy-MM-dd HH:mm:ss'), offset: time.toFormat('ZZ') }
}

function wallTime(ms: number, zone: string): Wall | null {
  if (!Number.isInteger(ms) || ms < 86_400_000 - 62_167_219_200_000 || ms > LAST) return null
  const lower = zone.toLowerCase()
  // luxon reads these two names as its fixed UTC zone.
  const utc = lower === 'utc' || lower === 'gmt'
  let offsetMs = 0
  if (!utc) {
    // Other names luxon parses itself ("UTC+3", "local", "system", "default").
    if (/^(?:utc|gmt)?[+-]|^utc|^(?:local|system|default)$/.test(lower)) return null
    try {
      offsetMs = zoneOffsets(zone).offsetAt(ms)
    } catch {
      return null
    }
  }
  if (offsetMs % MINUTE !== 0) return null
  const text = formatWall(ms + offsetMs)
  const minutes = Math.abs(offsetMs / MINUTE)
  const offset = `${offsetMs >= 0 ? '+' : '-'}${pad(Math.trunc(minutes / 60), 2)}:${pad(minutes % 60, 2)}`
  return { text, offset }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0')
}
