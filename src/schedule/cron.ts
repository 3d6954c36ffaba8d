/**
 * Cron schedules: wall-time matching walked one offset segment at a time, plus the DST rules of
 * docs/scheduling.md (docs/engine.md: "Schedules").
 */
import type { CronFields } from './cron-fields.js'
import { describeCron } from './describe.js'
import { invalid } from './field-grammar.js'
import { WallMatcher } from './match.js'
import { parseFields, resolveFields } from './parse.js'
import type { Schedule } from './types.js'
import { MAX_INSTANT, newSegment, type ZoneOffsets, zoneOffsets } from './zone.js'

/** How far ahead a search looks before concluding the schedule never fires again. */
const SEARCH_LIMIT = 500 * 366 * 86_400_000

/** Scratch segment shared by all schedules: a search runs to completion without calling out. */
const segment = newSegment()

/** Immutable matchers by `resolveFields` key, shared by schedules with the same fields; emptied past the limit. */
const MATCHER_LIMIT = 4096
const matchers = new Map<string, WallMatcher>()

function matcherFor(fields: CronFields, key: string | null): WallMatcher {
  if (key === null) return new WallMatcher(fields)
  let matcher = matchers.get(key)
  if (matcher === undefined) {
    matcher = new WallMatcher(fields)
    if (matchers.size >= MATCHER_LIMIT) matchers.clear()
    matchers.set(key, matcher)
  }
  return matcher
}

export class CronSchedule implements Schedule {
  readonly kind = 'cron' as const
  readonly text: string
  readonly zone: string
  /** The hour field matches all 24 hours: a cadence rather than a time of day, for DST gaps and repeats. */
  readonly isHourWildcard: boolean
  private readonly matcher: WallMatcher
  private readonly offsets: ZoneOffsets

  /** `fields` must be `parseFields(text)` (not kept: derived again when asked), and `matcher` built from them. */
  constructor(text: string, zone: string, fields: CronFields, matcher: WallMatcher) {
    this.text = text
    this.zone = zone
    this.isHourWildcard = fields.hours.length === 24
    this.matcher = matcher
    this.offsets = zoneOffsets(zone)
  }

  /** A fresh copy on each call (cheap, from the parse caches). */
  get fields(): CronFields {
    return parseFields(this.text)
  }

  next(after: number): number | null {
    if (Number.isNaN(after)) throw new RangeError('next(after): after must be an epoch-ms number, got NaN')
    // Clamped so the zone tables never probe before the earliest instant Intl accepts.
    let cursor = Math.max(Math.floor(after) + 1, -MAX_INSTANT + 400 * 86_400_000)
    const limit = Math.min(cursor + SEARCH_LIMIT, MAX_INSTANT - 2 * 86_400_000)
    const fixedHour = !this.isHourWildcard
    const seg = segment
    while (cursor < limit) {
      this.offsets.segment(cursor, seg)
      // Spring-forward: a fixed-hour slot in the skipped wall times runs once, at the gap's end.
      if (fixedHour && seg.start >= cursor && seg.previousOffset < seg.offset) {
        const skipped = this.matcher.next(seg.start + seg.previousOffset, seg.start + seg.offset)
        if (skipped !== null) return seg.start
      }
      let low = cursor + seg.offset
      // Fall-back: a fixed-hour job ran on the first pass of the repeated wall times.
      if (fixedHour && seg.previousOffset > seg.offset) low = Math.max(low, seg.start + seg.previousOffset)
      const high = seg.end + seg.offset
      if (low < high) {
        const wall = this.matcher.next(low, high)
        if (wall !== null) return wall - seg.offset
      }
      cursor = seg.end
    }
    return null
  }

  describe(): string {
    return describeCron(resolveFields(this.text).fields)
  }
}

/** Parse a cron expression (5 or 6 fields, or an alias) read in `zone`. Throws `SCHEDULE_INVALID`. */
export function parseCron(expression: string, zone: string): CronSchedule {
  if (typeof expression !== 'string') {
    throw invalid('schedule must be a string (expected 5 or 6 fields, or an alias such as @daily)')
  }
  const { fields, key } = resolveFields(expression)
  return new CronSchedule(expression.trim(), zone, fields, matcherFor(fields, key))
}
