/**
 * Plain English for `crons list` and `crons next`, from the value sets (so `MON-FRI` and `1,2,3,4,5` read
 * alike). Small on purpose: cronstrue would be loaded by every CLI start for one line of output.
 */
import { formatWall } from './calendar.js'
import type { CronFields } from './cron-fields.js'
import { zoneOffsets } from './zone.js'

const MONTHS = 'January February March April May June July August September October November December'.split(' ')
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const ORDINALS = ['', 'first', 'second', 'third', 'fourth', 'fifth']

const pad = (n: number): string => String(n).padStart(2, '0')

/** 2 → "2nd", 11 → "11th", 21 → "21st". */
function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th')
  return `${n}${suffix}`
}

/** "a", "a and b", "a, b and c". */
function joinAnd(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`
}

/** Sorted values with runs of 3+ folded into "x through y": [1,2,3,4,5,7] → "1 through 5 and 7". */
function listOf(values: readonly number[], label: (v: number) => string = String): string {
  const parts: string[] = []
  for (let i = 0; i < values.length; ) {
    let j = i
    while (j + 1 < values.length && (values[j + 1] as number) === (values[j] as number) + 1) j++
    if (j - i >= 2) parts.push(`${label(values[i] as number)} through ${label(values[j] as number)}`)
    else for (let k = i; k <= j; k++) parts.push(label(values[k] as number))
    i = j + 1
  }
  return joinAnd(parts)
}

/** The step n when `values` is exactly min, min+n, … up to the field's end (what `*\/n` gives). */
function stepOf(values: readonly number[], min: number, max: number): number | null {
  if (values.length < 2 || values[0] !== min) return null
  const step = (values[1] as number) - min
  for (let i = 0; i < values.length; i++) if (values[i] !== min + i * step) return null
  return (values.at(-1) as number) + step > max ? step : null
}

/** "every 15 minutes", "at minute 5", "at minutes 0 and 30". */
function unitPhrase(values: readonly number[], size: number, unit: string): string {
  if (values.length === size) return `every ${unit}`
  const step = stepOf(values, 0, size - 1)
  if (step !== null) return `every ${step} ${unit}s`
  return values.length === 1 ? `at ${unit} ${values[0]}` : `at ${unit}s ${listOf(values)}`
}

function hoursPhrase(hours: readonly number[]): string {
  const step = stepOf(hours, 0, 23)
  if (step !== null) return `of every ${ordinal(step)} hour`
  const first = hours[0] as number
  const last = hours.at(-1) as number
  if (last - first + 1 === hours.length) return `between ${pad(first)}:00 and ${pad(last)}:59`
  return `during hours ${listOf(hours)}`
}

function timePhrase(f: CronFields): { text: string; timeOfDay: boolean } {
  const second = f.seconds.length === 1 ? (f.seconds[0] as number) : -1
  if (second >= 0 && f.hours.length < 24 && f.hours.length * f.minutes.length <= 4) {
    const times = f.hours.flatMap((h) =>
      f.minutes.map((m) => `${pad(h)}:${pad(m)}${second > 0 ? `:${pad(second)}` : ''}`),
    )
    return { text: `at ${joinAnd(times)}`, timeOfDay: true }
  }
  let text: string
  const minutes = unitPhrase(f.minutes, 60, 'minute')
  if (f.minutes.length === 60 || minutes.startsWith('every ')) {
    text = f.hours.length === 24 ? minutes : `${minutes} ${hoursPhrase(f.hours)}`
  } else {
    const hours = f.hours.length === 24 ? 'of every hour' : hoursPhrase(f.hours)
    text = `${minutes} ${hours.startsWith('between') ? `of every hour ${hours}` : hours.replace(/^during/, 'of')}`
  }
  if (!(f.seconds.length === 1 && f.seconds[0] === 0)) {
    const seconds = unitPhrase(f.seconds, 60, 'second')
    if (text === 'every minute') text = seconds.startsWith('every') ? seconds : `${seconds} of every minute`
    else text = `${seconds}, ${text}`
  }
  return { text, timeOfDay: false }
}

function daysPhrase(f: CronFields): string {
  const monthDays: string[] = []
  const weekDays: string[] = []
  if (f.dayOfMonthRestricted) {
    if (f.daysOfMonth.length > 0) monthDays.push(`day${f.daysOfMonth.length === 1 ? '' : 's'} ${listOf(f.daysOfMonth)}`)
    if (f.lastDayOfMonth) monthDays.push('the last day')
  }
  if (f.dayOfWeekRestricted) {
    if (f.daysOfWeek.length > 0) weekDays.push(listOf(f.daysOfWeek, (d) => WEEKDAYS[d] ?? String(d)))
    for (const d of f.lastWeekdays) weekDays.push(`the last ${WEEKDAYS[d]} of the month`)
    for (const { weekday, nth } of f.nthWeekdays) {
      weekDays.push(`the ${ORDINALS[nth]} ${WEEKDAYS[weekday]} of the month`)
    }
  }
  const parts: string[] = []
  if (monthDays.length > 0) parts.push(`on ${joinAnd(monthDays)} of the month`)
  if (weekDays.length > 0) parts.push(`on ${weekDays.join(' or ')}`)
  return parts.join(' or ')
}

export function describeCron(f: CronFields): string {
  const { text, timeOfDay } = timePhrase(f)
  const singleDate =
    f.months.length === 1 &&
    f.dayOfMonthRestricted &&
    !f.dayOfWeekRestricted &&
    !f.lastDayOfMonth &&
    f.daysOfMonth.length === 1
  if (singleDate) return `${text} on ${MONTHS[(f.months[0] as number) - 1]} ${f.daysOfMonth[0]}`
  const days = daysPhrase(f)
  const months = f.months.length === 12 ? '' : ` in ${listOf(f.months, (m) => MONTHS[m - 1] ?? String(m))}`
  if (days !== '') return `${text} ${days}${months}`
  return timeOfDay ? `${text} every day${months}` : `${text}${months}`
}

/** "every 5 minutes", "every 1 hour 30 minutes", "every 250 milliseconds". */
export function describeInterval(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
    [1, 'millisecond'],
  ]
  const parts: string[] = []
  let rest = ms
  for (const [size, name] of units) {
    const count = Math.floor(rest / size)
    if (count > 0) parts.push(`${count} ${name}${count === 1 ? '' : 's'}`)
    rest -= count * size
  }
  return `every ${parts.length === 1 && parts[0]?.startsWith('1 ') ? parts[0].slice(2) : parts.join(' ')}`
}

/** "once at 2026-01-01 00:00 UTC", in the schedule's zone (seconds only when not :00). */
export function describeInstant(instant: number, zone: string): string {
  const wall = formatWall(instant + zoneOffsets(zone).offsetAt(instant))
  return `once at ${wall.endsWith(':00') ? wall.slice(0, -3) : wall} ${zone}`
}
