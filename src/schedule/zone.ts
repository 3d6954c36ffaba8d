/**
 * UTC offsets of IANA zones as constant segments between transitions, found from `Intl` once per zone
 * and UTC month and cached (docs/engine.md: "Schedules").
 */
import { CronsError, quote, suggestClosest } from '../errors.js'
import { type CivilDate, civilFromDays, DAY, daysFromCivil, daysInMonth, SECOND } from './calendar.js'

/** Each month's table starts this long before the month, so a segment there knows the offset it replaced. */
const LOOKBACK = 2 * DAY

/** Largest instant `Intl` accepts (the ECMAScript time value limit). */
export const MAX_INSTANT = 8.64e15

/** A month rather than a year: a command asking for a next fire probes ~33 days per zone, not 367. */
interface ZoneMonth {
  /** The UTC month [start, end) this table answers for. */
  start: number
  end: number
  /** The offset before `at[0]`; `offsets[i]` applies from `at[i]` (ascending transition instants). */
  initial: number
  at: number[]
  offsets: number[]
}

/** A stretch of time with one offset; `previousOffset` equals `offset` when `start` is no real transition. */
export interface Segment {
  start: number
  end: number
  offset: number
  previousOffset: number
}

export function newSegment(): Segment {
  return { start: 0, end: 0, offset: 0, previousOffset: 0 }
}

/** Needs no formatter: jobs often use it, and a process's first `Intl.DateTimeFormat` costs tens of milliseconds. */
const UTC = 'UTC'

export class ZoneOffsets {
  /** null for UTC. */
  private readonly format: Intl.DateTimeFormat | null
  /** By `year * 12 + month - 1`. */
  private readonly months = new Map<number, ZoneMonth>()
  private last: ZoneMonth | undefined
  private readonly civil: CivilDate = { year: 0, month: 0, day: 0 }

  /** `name` must be valid (`isValidZone`): `zoneOffsets` checks. */
  constructor(name: string) {
    this.format = name === UTC ? null : offsetFormatter(name)
  }

  /** Offset (ms, wall minus UTC) at `instant`, straight from Intl: slow. */
  probe(instant: number): number {
    if (this.format === null) return 0
    const text = this.format.format(instant)
    const g = text.lastIndexOf('GMT')
    if (g < 0 || text.length <= g + 3) return 0
    const sign = text.charCodeAt(g + 3) === 43 /* + */ ? 1 : -1
    const hours = Number(text.slice(g + 4, g + 6))
    const minutes = Number(text.slice(g + 7, g + 9))
    const seconds = text.length > g + 9 ? Number(text.slice(g + 10, g + 12)) : 0
    return sign * (hours * 3600 + minutes * 60 + seconds) * SECOND
  }

  offsetAt(instant: number): number {
    return this.segment(instant, newSegment()).offset
  }

  /** The segment containing `instant`, written into `out`; it never crosses the start of a UTC month. */
  segment(instant: number, out: Segment): Segment {
    const zy = this.monthFor(instant)
    const at = zy.at
    let i = 0
    while (i < at.length && (at[i] as number) <= instant) i++
    out.start = i > 0 ? (at[i - 1] as number) : zy.start - LOOKBACK
    out.end = i < at.length ? (at[i] as number) : zy.end
    out.offset = i > 0 ? (zy.offsets[i - 1] as number) : zy.initial
    out.previousOffset = i > 1 ? (zy.offsets[i - 2] as number) : i === 1 ? zy.initial : out.offset
    return out
  }

  private monthFor(instant: number): ZoneMonth {
    const cached = this.last
    if (cached !== undefined && instant >= cached.start && instant < cached.end) return cached
    const { year, month } = civilFromDays(Math.floor(instant / DAY), this.civil)
    const key = year * 12 + month - 1
    let zm = this.months.get(key)
    if (zm === undefined) {
      zm = this.buildMonth(year, month)
      this.months.set(key, zm)
    }
    this.last = zm
    return zm
  }

  /** Probe daily (catches short-lived rules; misses two that cancel out within a UTC day), bisect any change. */
  private buildMonth(year: number, month: number): ZoneMonth {
    const start = daysFromCivil(year, month, 1) * DAY
    const end = start + daysInMonth(year, month) * DAY
    if (this.format === null) return { start, end, initial: 0, at: [], offsets: [] }
    const at: number[] = []
    const offsets: number[] = []
    let t = start - LOOKBACK
    let current = this.probe(t)
    const initial = current
    while (t < end) {
      const next = t + DAY
      const target = this.probe(next)
      let low = t
      while (target !== current) {
        let high = next
        while (high - low > SECOND) {
          const mid = low + Math.floor((high - low) / 2 / SECOND) * SECOND
          if (this.probe(mid) === current) low = mid
          else high = mid
        }
        if (high >= end) break
        current = this.probe(high)
        at.push(high)
        offsets.push(current)
        low = high
      }
      current = target
      t = next
    }
    return { start, end, initial, at, offsets }
  }
}

const zones = new Map<string, ZoneOffsets>()

/** The shared offset tables of `zone`; throws `ZONE_UNKNOWN` for a name Intl does not know. */
export function zoneOffsets(zone: string): ZoneOffsets {
  let offsets = zones.get(zone)
  if (offsets === undefined) {
    if (!isValidZone(zone)) throw unknownZone(zone)
    offsets = new ZoneOffsets(zone)
    zones.set(zone, offsets)
  }
  return offsets
}

/** By zone name (null: unknown to Intl); the formatter that proves a zone valid is the one its tables use. */
const formatters = new Map<string, Intl.DateTimeFormat | null>()

function offsetFormatter(zone: string): Intl.DateTimeFormat | null {
  let format = formatters.get(zone)
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
    } catch {
      format = null
    }
    formatters.set(zone, format)
  }
  return format
}

/** True for an IANA zone name Intl knows (any case), including `UTC`. Offsets like `+02:00` are not zones. */
export function isValidZone(zone: string): boolean {
  if (zone === UTC) return true
  if (typeof zone !== 'string' || zone.trim() === '' || /^[+-]/.test(zone)) return false
  return offsetFormatter(zone) !== null
}

let local: { tz: string | undefined; zone: string } | undefined

/** The process's zone, as classic cron uses it (honours `TZ`); Intl is asked again only when `TZ` changed. */
export function localZone(): string {
  const tz = process.env.TZ
  if (local === undefined || local.tz !== tz) {
    local = { tz, zone: new Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' }
  }
  return local.zone
}

let zoneNames: string[] | undefined

/** Every IANA zone this runtime knows, for "did you mean"; computed once, only when a zone is wrong. */
export function knownZones(): string[] {
  zoneNames ??= ['UTC', ...Intl.supportedValuesOf('timeZone')]
  return zoneNames
}

/** The one unknown-zone message. */
export function unknownZoneMessage(zone: unknown): string {
  return `unknown time zone ${quote(zone)} (expected an IANA zone name such as "Europe/Berlin", "America/New_York" or "UTC")`
}

/** `ZONE_UNKNOWN`, after `where` (a flag) if given, with the closest known zone as a did-you-mean. */
export function unknownZone(zone: string, where?: string): CronsError {
  const prefix = where === undefined ? '' : `${where}: `
  return new CronsError('ZONE_UNKNOWN', prefix + unknownZoneMessage(zone), {
    suggestions: suggestClosest(zone, knownZones()),
  })
}
