/**
 * Flag values are validated here rather than by oclif's built-in parsers, whose multi-line errors
 * do not meet the one-line contract. Each function returns the parsed value or throws a one-line
 * `CronsError` that names the flag, the bad value and what was expected.
 */
import { Flags } from '@oclif/core'
import { CronsError, quote, suggestClosest } from '../errors.js'
import { isValidZone } from '../schedule/index.js'

/** A whole number in [min, max]. */
export function parseIntegerFlag(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new CronsError(
      'FLAG_INVALID',
      `--${name} ${quote(raw)} is not valid (expected a whole number from ${min} to ${max})`,
    )
  }
  return Number(raw)
}

/** An ISO-8601 instant that carries an offset or Z, so it means the same on every machine. */
export function parseInstantFlag(name: string, raw: string): number {
  const text = raw.trim()
  const fields = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i.exec(text)
  const ms = fields !== null && isCalendarTime(fields) ? Date.parse(text) : Number.NaN
  if (Number.isNaN(ms)) {
    throw new CronsError(
      'FLAG_INVALID',
      `--${name} ${quote(raw)} is not valid (expected an ISO-8601 instant with an offset or Z, such as 2025-03-09T06:00:00Z)`,
    )
  }
  return ms
}

/**
 * Whether the date and time fields name a real moment of the calendar: Date.parse rolls 2025-02-30
 * over to March 2nd instead of refusing it.
 */
function isCalendarTime(fields: RegExpExecArray): boolean {
  type Six = [number, number, number, number, number, number]
  const [year, month, day, hour, minute, second] = fields.slice(1, 7).map((f) => Number(f ?? 0)) as Six
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59
}

/** An IANA time zone, with a did-you-mean. */
export function parseZoneFlag(name: string, raw: string): string {
  if (isValidZone(raw)) return raw
  throw new CronsError(
    'ZONE_UNKNOWN',
    `--${name} ${quote(raw)} is not a known IANA time zone (expected a name such as America/New_York or UTC)`,
    { suggestions: suggestClosest(raw, Intl.supportedValuesOf('timeZone')) },
  )
}

/** `--wide`, on every command that draws a table: cells whole instead of cut to the terminal's width. */
export const wideFlag = Flags.boolean({
  description: "Show every cell in full instead of fitting the table to the terminal's width.",
  default: false,
})
