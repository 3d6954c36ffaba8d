/** The only module that draws tables and colours: only on a terminal; plain aligned text when piped or NO_COLOR. */
import { stripVTControlCharacters as stripAnsi } from 'node:util'
import { formatDuration } from '../config/duration.js'
import { commandText } from '../core/command.js'
import type { AttemptView } from '../core/views.js'

export { formatLocal, formatLocalShort } from './local-time.js'
export { formatDuration, stripAnsi }

type Stream = { isTTY?: boolean }

/** Whether colour and box drawing are wanted on this stream. */
export function isDecorated(stream: Stream = process.stdout): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true
  return stream.isTTY === true && process.env.TERM !== 'dumb'
}

/** The styles the CLI uses: a `ChalkInstance`, or the colourless PLAIN. */
export interface Painter {
  bold(text: string): string
  dim(text: string): string
  red(text: string): string
  green(text: string): string
  yellow(text: string): string
  cyan(text: string): string
}

const same = (text: string): string => text
const PLAIN: Painter = { bold: same, dim: same, red: same, green: same, yellow: same, cyan: same }

let colours: Painter | undefined

/** Load chalk if `stream` is decorated, only then (scripts never pay for it); before `paint`. */
export async function preparePaint(stream: Stream = process.stdout): Promise<void> {
  if (colours === undefined && isDecorated(stream)) {
    const { Chalk } = await import('chalk')
    colours = new Chalk({ level: 1 })
  }
}

/** Colours for `stream` when it is decorated (after `preparePaint`), else PLAIN. */
export function paint(stream: Stream = process.stdout): Painter {
  return isDecorated(stream) ? (colours ?? PLAIN) : PLAIN
}

export function statusColour(status: string, p: Painter): string {
  if (status === 'succeeded') return p.green(status)
  if (status === 'running') return p.cyan(status)
  if (['failed', 'timed_out', 'interrupted'].includes(status)) return p.red(status)
  if (['skipped', 'missed', 'cancelled'].includes(status)) return p.yellow(status)
  return status
}

function visibleLength(text: string): number {
  return stripAnsi(text).length
}

export interface TableOptions {
  /** Every cell in full, whatever the terminal's width (`--wide`). */
  wide?: boolean
  /** Columns (by index) that never give way: short values such as a status. */
  fixed?: readonly number[]
}

/** Columns are never narrowed below this (or their own width, if smaller). */
const MIN_COLUMN = 6

/** How wide a table may be: the terminal's width, else COLUMNS, else no limit (a pipe gets cells whole). */
export function outputWidth(stream: Stream & { columns?: number } = process.stdout): number | undefined {
  if (stream.isTTY === true && typeof stream.columns === 'number' && stream.columns > 0) return stream.columns
  const columns = Number(process.env.COLUMNS)
  return Number.isInteger(columns) && columns > 0 ? columns : undefined
}

/** A table, boxed on a terminal, else space-aligned; too wide, the widest columns give way first ("…"). */
export async function renderTable(
  head: string[],
  rows: string[][],
  stream: Stream & { columns?: number } = process.stdout,
  options: TableOptions = {},
): Promise<string> {
  const boxed = isDecorated(stream)
  // In plain text a cell's further lines follow its first in parentheses, not as columns of their own.
  if (!boxed) rows = rows.map((row) => row.map(oneLine))
  const natural = head.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => cellWidth(r[i] ?? ''))))
  const available = options.wide ? undefined : outputWidth(stream)
  const overhead = boxed ? 3 * head.length + 1 : 2 * (head.length - 1)
  const widths = available === undefined ? natural : fitWidths(natural, available - overhead, options.fixed)
  const fitted = rows.map((row) => row.map((cell, i) => clipCell(cell, widths[i] ?? cellWidth(cell))))
  if (boxed) {
    const { default: Table } = await import('cli-table3')
    await preparePaint(stream)
    const p = paint(stream)
    const heads = head.map((h, i) => p.bold(clipCell(h, widths[i] ?? h.length)))
    const table = new Table({ head: heads, style: { head: [], border: [] } })
    for (const row of fitted) table.push(row)
    const text = table.toString()
    if (fitted.some((row) => row.some((cell) => cell.includes('\n')))) return text
    // The line under the header stays, the lines between rows go.
    let separators = 0
    return text
      .split('\n')
      .filter((line) => !stripAnsi(line).startsWith('├') || separators++ === 0)
      .join('\n')
  }
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        i === cells.length - 1 ? cell : cell + ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleLength(cell))),
      )
      .join('  ')
      .trimEnd()
  return [line(head.map((h, i) => clipCell(h, widths[i] ?? h.length))), ...fitted.map(line)].join('\n')
}

function cellWidth(cell: string): number {
  return Math.max(0, ...cell.split('\n').map(visibleLength))
}

/** Widths within `budget`: the widest column gives one character at a time, down to MIN_COLUMN. */
export function fitWidths(natural: readonly number[], budget: number, fixed: readonly number[] = []): number[] {
  const widths = [...natural]
  const floor = natural.map((w, i) => (fixed.includes(i) ? w : Math.min(w, MIN_COLUMN)))
  let total = widths.reduce((a, b) => a + b, 0)
  while (total > budget) {
    let widest = -1
    for (let i = 0; i < widths.length; i++) {
      if ((widths[i] ?? 0) > (floor[i] ?? 0) && (widest < 0 || (widths[i] ?? 0) > (widths[widest] ?? 0))) widest = i
    }
    if (widest < 0) break
    widths[widest] = (widths[widest] ?? 0) - 1
    total--
  }
  return widths
}

/** Each line of `cell` cut to `width` visible characters, ending in "…" (colour is dropped from a cut line). */
export function clipCell(cell: string, width: number): string {
  return cell
    .split('\n')
    .map((line) => {
      if (visibleLength(line) <= width) return line
      const plain = stripAnsi(line)
      return width <= 1 ? '…'.slice(0, width) : `${plain.slice(0, width - 1).trimEnd()}…`
    })
    .join('\n')
}

function oneLine(cell: string): string {
  const [first = '', ...rest] = cell.split('\n')
  const more = rest.filter((line) => visibleLength(line) > 0)
  return more.length === 0 ? first : `${first} (${more.join(', ')})`
}

/** C0 and C1 control characters but tab and newline, and DEL. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g

/**
 * Text a job produced (an error, a reason, a result, an output line) as human output prints it:
 * terminal escape sequences removed, other control characters but tab and newline shown as `\xNN`
 * (a NUL as `\x00`), so it can neither colour a pipe nor redraw a terminal. `--json` keeps it as stored.
 */
export function jobText(text: string): string {
  return stripAnsi(text).replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/** An error message on a line of its own (an event line, a result line): its first line, as the `logs` table shows it. */
export function firstLine(message: string): string {
  return message.split('\n')[0] ?? ''
}

/** An error message after its status, not repeating it (the engine words one "interrupted: the scheduler…"). */
export function withoutStatus(status: string, message: string): string {
  const prefix = `${status}: `
  return message.startsWith(prefix) ? message.slice(prefix.length) : message
}

/** Send stdout (`console.log` too) to stderr until the returned function is called: `--json` keeps stdout clean. */
export function divertStdout(): () => void {
  const original = process.stdout.write
  process.stdout.write = ((...args: Parameters<typeof process.stderr.write>) =>
    process.stderr.write(...args)) as typeof process.stdout.write
  return () => {
    process.stdout.write = original
  }
}

/**
 * What is printed once stdout or stderr has failed (EIO: the terminal closed; EPIPE: the reader gone)
 * is lost, not an uncaught error: the stray-error report would print it, fail again, and so on forever.
 */
export function ignoreLostOutput(): void {
  const lost = () => undefined
  process.stdout.on('error', lost)
  process.stderr.on('error', lost)
}

/** "in 2h 13m", "3m 5s ago", "now". */
export function relative(targetMs: number, nowMs: number): string {
  const delta = targetMs - nowMs
  const abs = Math.abs(delta)
  if (abs < 1000) return 'now'
  const text = roughly(abs)
  return delta > 0 ? `in ${text}` : `${text} ago`
}

/** A countdown to its two most significant units ("2h 13m", "45s"); durations are `formatDuration`, exact. */
function roughly(ms: number): string {
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ]
  const i = units.findIndex(([, size]) => ms >= size)
  const [name, size] = units[i] as [string, number]
  const n1 = Math.floor(ms / size)
  const second = units[i + 1]
  const n2 = second ? Math.floor((ms - n1 * size) / second[1]) : 0
  return second && n2 > 0 ? `${n1}${name} ${n2}${second[0]}` : `${n1}${name}`
}

/** A run's duration in every listing; one ending at a dead process's last heartbeat says so. */
export function runDuration(run: Pick<AttemptView, 'status' | 'durationMs' | 'durationUntil'>): string {
  if (run.durationMs === null) return run.status === 'running' ? 'running' : '-'
  const text = formatDuration(run.durationMs)
  return run.durationUntil === 'last-heartbeat' ? `${text} (until last heartbeat)` : text
}

export function formatUtc(ms: number): string {
  return new Date(ms).toISOString()
}

/** A file size for people: "812 B", "48.0 KB", "3.2 MB" (1 KB = 1024 bytes, as `ls -lh` counts). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`
}

/** A command job's command for a table cell: one line, `$ ` first, cut past `max` characters. */
export function commandCell(command: string | readonly string[], max = 48): string {
  return `$ ${clip(commandText(command).replace(/\s*\n\s*/g, ' '), max)}`
}

/** `text` cut to `max` characters, ending in "…". */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}
