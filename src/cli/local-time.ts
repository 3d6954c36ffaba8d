/**
 * Instants as wall time in a job's zone, by luxon. Through `require`: cron-parser (CommonJS) requires
 * luxon too, and an ESM import would load a second copy of it. Loaded on first use, so commands that
 * show no local time (`--version`, `status`) never load it.
 */
import { createRequire } from 'node:module'

type DateTimeClass = typeof import('luxon').DateTime

let luxon: DateTimeClass | undefined

function dateTime(): DateTimeClass {
  luxon ??= (createRequire(import.meta.url)('luxon') as typeof import('luxon')).DateTime
  return luxon
}

/** "2025-03-09 03:00:00 EDT (-04:00)". */
export function formatLocal(ms: number, zone: string): string {
  return dateTime().fromMillis(ms, { zone }).toFormat("yyyy-MM-dd HH:mm:ss ZZZZ '('ZZ')'")
}

/** "2025-03-09 03:00:00 EDT". */
export function formatLocalShort(ms: number, zone: string): string {
  return dateTime().fromMillis(ms, { zone }).toFormat('yyyy-MM-dd HH:mm:ss ZZZZ')
}
