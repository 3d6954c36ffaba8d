/**
 * The grammar of one cron field (docs/scheduling.md) and its `SCHEDULE_INVALID` messages, checked before
 * cron-parser, whose own messages name neither the field nor the expression.
 */
import { CronsError, quote, suggestClosest } from '../errors.js'

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC']
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT']

export interface FieldSpec {
  name: string
  min: number
  max: number
  /** Names allowed in place of numbers; index 0 stands for `min`. */
  names?: string[]
  /** What a single value may look like, for "expected …". */
  expected: string
}

/** The six fields in 6-field order (seconds first); a field's index is its position here. */
export const SPECS: FieldSpec[] = [
  { name: 'second', min: 0, max: 59, expected: '0-59' },
  { name: 'minute', min: 0, max: 59, expected: '0-59' },
  { name: 'hour', min: 0, max: 23, expected: '0-23' },
  { name: 'day-of-month', min: 1, max: 31, expected: '1-31 or L' },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES, expected: '1-12 or JAN-DEC' },
  { name: 'day-of-week', min: 0, max: 7, names: DAY_NAMES, expected: '0-7 or SUN-SAT' },
]
export const DAY_OF_MONTH = 3
export const DAY_OF_WEEK = 5

export function invalid(message: string, suggestions: string[] = []): CronsError {
  return new CronsError('SCHEDULE_INVALID', message, { suggestions })
}

/** Validate one field and return it upper-cased for cron-parser, or throw its first problem. */
export function checkField(text: string, spec: FieldSpec, index: number, expression: string): string {
  const notValid = (what: string, why: string) =>
    invalid(`${spec.name} ${what} is not valid in ${quote(expression)} (${why})`)
  const malformed = (part: string) =>
    notValid(
      quote(part),
      `expected ${spec.expected}, a range a-b, a step */n or a-b/n, or a list${index === DAY_OF_WEEK ? ', nL or n#k' : ''}`,
    )
  let upperText = text.toUpperCase()
  for (const item of text.split(',')) {
    if (item === '') throw malformed(text)
    const upper = item.toUpperCase()
    if (index === DAY_OF_MONTH && upper === 'L') continue
    const hash = upper.indexOf('#')
    if (index === DAY_OF_WEEK && hash > 0) {
      checkValue(upper.slice(0, hash), spec, expression)
      if (!/^[1-5]$/.test(upper.slice(hash + 1))) throw notValid(quote(item), 'the occurrence after # must be 1-5')
      continue
    }
    if (index === DAY_OF_WEEK && upper.length > 1 && upper.endsWith('L') && !upper.includes('/')) {
      checkValue(upper.slice(0, -1), spec, expression)
      continue
    }
    const slash = item.split('/')
    if (slash.length > 2) throw malformed(item)
    const [range = '', step] = slash
    if (step !== undefined && (!/^\d+$/.test(step) || Number(step) < 1 || Number(step) > spec.max)) {
      throw notValid(`step ${quote(item)}`, `expected a whole number from 1 to ${spec.max} after /`)
    }
    if (range === '*') continue
    const bounds = range.split('-')
    if (bounds.length > 2 || bounds.some((bound) => bound === '')) throw malformed(item)
    const low = checkValue(bounds[0] as string, spec, expression)
    if (bounds.length === 2) {
      let high = checkValue(bounds[1] as string, spec, expression)
      if (index === DAY_OF_WEEK && high === 0 && low > 0 && /^SUN$/i.test(bounds[1] as string)) {
        // `MON-SUN`, `SAT-SUN`: a range that ends on Sunday ends on day 7, as most readers mean it.
        high = 7
        upperText = upperText
          .split(',')
          .map((part) => (part === upper ? upper.replace(/-SUN\b/, '-7') : part))
          .join(',')
      }
      if (low > high) {
        const list = wrapped(low, high, spec, index)
        throw notValid(
          `range ${quote(range)}`,
          `${low} is greater than ${high}; ranges do not wrap around, use a list such as ${list}`,
        )
      }
    }
  }
  return upperText
}

/** The list a wrapping range `low-high` means: `22-2` → `22-23,0-2`; in day-of-week `5-1` → `5-7,1` (7 is Sunday). */
function wrapped(low: number, high: number, spec: FieldSpec, index: number): string {
  const start = index === DAY_OF_WEEK ? 1 : spec.min
  const tail = high < start ? '' : high === start ? `,${start}` : `,${start}-${high}`
  return `${low}-${spec.max}${tail}`
}

/** A single number or name; returns its numeric value. */
function checkValue(token: string, spec: FieldSpec, expression: string): number {
  if (/^\d+$/.test(token)) {
    const value = Number(token)
    if (value < spec.min || value > spec.max) {
      throw invalid(`${spec.name} ${value} is out of range ${spec.min}-${spec.max} in ${quote(expression)}`)
    }
    return value
  }
  const nameIndex = spec.names?.indexOf(token.toUpperCase()) ?? -1
  if (nameIndex >= 0) return nameIndex + spec.min
  const suggestions = spec.names !== undefined && /^[a-z]+$/i.test(token) ? suggestClosest(token, spec.names) : []
  throw invalid(
    `${spec.name} ${quote(token)} is not valid in ${quote(expression)} (expected ${spec.expected})`,
    suggestions,
  )
}
