/**
 * Instants as wall time in a zone, by luxon, loaded on first use through `require`: cron-parser
 * (CommonJS) requires it too, and an ESM import would load a second copy.
 */
import { createRequire } from 'node:module'

type DateTimeClass = typeof import('luxon').DateTime

let luxon: DateTimeClass | undefined

function dateTime(): DateTimeClass {
  luxon ??= (createRequire(import.meta.url)('luxon') as typeof import('luxon')).DateTime
  return luxon
}

/** "2025-03-09 03:00:00 America/New_York (UTC-04:00)", never an abbreviation such as "GMT-3". */
export function formatLocal(ms: number, zone: string): string {
  const { text, offset } = wallOf(ms, zone)
  return isUtc(zone, offset) ? `${text} UTC` : `${text} ${zone} (UTC${offset})`
}

/** "2025-03-09 03:00:00 (UTC-04:00)", for a cell whose zone is named beside it. UTC is just "UTC". */
export function formatLocalShort(ms: number, zone: string): string {
  const { text, offset } = wallOf(ms, zone)
  return isUtc(zone, offset) ? `${text} UTC` : `${text} (UTC${offset})`
}

function wallOf(ms: number, zone: string): { text: string; offset: string } {
  const time = dateTime().fromMillis(ms, { zone })
  return { text: time.toFormat('yyyy-MM-dd HH:mm:ss'), offset: time.toFormat('ZZ') }
}

function isUtc(zone: string, offset: string): boolean {
  return offset === '+00:00' && /^(?:etc\/)?(?:utc|gmt|zulu|uct)$/i.test(zone)
}
