/**
 * Instants as wall time in a zone, in the text luxon's `toFormat` gives for
 * `yyyy-MM-dd HH:mm:ss ZZZZ` (and `'('ZZ')'`), but from the schedule's own offset tables: loading
 * luxon costs a CLI start more than everything it formats. The zone's abbreviation still comes from
 * Intl, asked exactly as luxon asks it. Anything outside the cases reproduced here (fixed-offset zone
 * names, instants outside the years 0-9999, offsets with seconds) is formatted by luxon itself, so the
 * output never depends on which path ran.
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

/** The wall time and the zone's abbreviation and offset, or null where luxon must format it. */
interface Wall {
  text: string
  name: string
  offset: string
}

const MINUTE = 60_000
/** Last instant of the year 9999 UTC less a day, for the offset (the first allowed is checked in wallTime). */
const LAST = 253_402_300_799_999 - 86_400_000

/** "2025-03-09 03:00:00 EDT (-04:00)". */
export function formatLocal(ms: number, zone: string): string {
  const wall = wallTime(ms, zone)
  if (wall === null) return dateTime().fromMillis(ms, { zone }).toFormat("yyyy-MM-dd HH:mm:ss ZZZZ '('ZZ')'")
  return `${wall.text} ${wall.name} (${wall.offset})`
}

/** "2025-03-09 03:00:00 EDT". */
export function formatLocalShort(ms: number, zone: string): string {
  const wall = wallTime(ms, zone)
  if (wall === null) return dateTime().fromMillis(ms, { zone }).toFormat('yyyy-MM-dd HH:mm:ss ZZZZ')
  return `${wall.text} ${wall.name}`
}

function wallTime(ms: number, zone: string): Wall | null {
  if (!Number.isInteger(ms) || ms < 86_400_000 - 62_167_219_200_000 || ms > LAST) return null
  const lower = zone.toLowerCase()
  // luxon reads these two names as its fixed UTC zone, named "UTC" whatever Intl would call it.
  const utc = lower === 'utc' || lower === 'gmt'
  let offsetMs = 0
  let name = 'UTC'
  if (!utc) {
    // Other names luxon parses itself ("UTC+3", "local", "system", "default").
    if (/^(?:utc|gmt)?[+-]|^utc|^(?:local|system|default)$/.test(lower)) return null
    try {
      offsetMs = zoneOffsets(zone).offsetAt(ms)
    } catch {
      return null
    }
    const abbreviation = zoneName(zone, ms)
    if (abbreviation === null) return null
    name = abbreviation
  }
  if (offsetMs % MINUTE !== 0) return null
  const text = formatWall(ms + offsetMs)
  const minutes = Math.abs(offsetMs / MINUTE)
  const offset = `${offsetMs >= 0 ? '+' : '-'}${pad(Math.trunc(minutes / 60), 2)}:${pad(minutes % 60, 2)}`
  return { text, name, offset }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0')
}

const namers = new Map<string, Intl.DateTimeFormat>()

/**
 * The zone's short name at `ms` ("EST", "GMT+1"), asked of Intl with luxon's options: `toFormat`
 * always formats in en-US (whatever the system locale) and prints plain ASCII digits there.
 */
function zoneName(zone: string, ms: number): string | null {
  let namer = namers.get(zone)
  if (namer === undefined) {
    namer = new Intl.DateTimeFormat('en-US', {
      timeZoneName: 'short',
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      timeZone: zone,
    })
    namers.set(zone, namer)
  }
  return namer.formatToParts(new Date(ms)).find((part) => part.type.toLowerCase() === 'timezonename')?.value ?? null
}
