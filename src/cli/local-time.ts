/**
 * Instants as wall time in a zone, by luxon, loaded on first use through `require`: cron-parser
 * (CommonJS) requires it too, and an ESM import would load a second copy.
 */
import { createRequire } from 'node:module'

let luxon: typeof import('luxon').DateTime | undefined

/** "2025-03-09 03:00:00 America/New_York (UTC-04:00)", never an abbreviation such as "GMT-3". UTC is just "UTC". */
export function formatLocal(ms: number, zone: string): string {
  return wallTime(ms, zone, true)
}

/** "2025-03-09 03:00:00 (UTC-04:00)", for a cell whose zone is named beside it. */
export function formatLocalShort(ms: number, zone: string): string {
  return wallTime(ms, zone, false)
}

function wallTime(ms: number, zone: string, named: boolean): string {
  luxon ??= (createRequire(import.meta.url)('luxon') as typeof import('luxon')).DateTime
  const time = luxon.fromMillis(ms, { zone })
  const text = time.toFormat('yyyy-MM-dd HH:mm:ss')
  const offset = time.toFormat('ZZ')
  if (offset === '+00:00' && /^(?:etc\/)?(?:utc|gmt|zulu|uct)$/i.test(zone)) return `${text} UTC`
  return named ? `${text} ${zone} (UTC${offset})` : `${text} (UTC${offset})`
}
