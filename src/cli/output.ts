/**
 * The only module that draws tables and colours. Colour and box tables only on a terminal; plain,
 * aligned text when piped or when NO_COLOR is set, so output stays greppable and diffable.
 */

import { stripVTControlCharacters } from 'node:util'
import { commandText } from '../core/command.js'

export { formatDuration } from '../config/duration.js'
export { formatLocal, formatLocalShort } from './local-time.js'

type Stream = { isTTY?: boolean }

/** Whether decorations (colour, box drawing) are wanted on this stream. */
export function isDecorated(stream: Stream = process.stdout): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true
  return stream.isTTY === true && process.env.TERM !== 'dumb'
}

/** The styles the CLI uses. A `ChalkInstance` is one; so is the colourless painter below. */
export interface Painter {
  bold(text: string): string
  dim(text: string): string
  red(text: string): string
  green(text: string): string
  yellow(text: string): string
  cyan(text: string): string
}

const same = (text: string): string => text
/** What chalk at level 0 does: every style returns its text unchanged. */
const PLAIN: Painter = { bold: same, dim: same, red: same, green: same, yellow: same, cyan: same }

let colours: Painter | undefined

/**
 * Load chalk if `stream` is to be decorated. It is imported only then: piped and NO_COLOR output, the
 * common case in scripts, never pays for it. Commands call this in `init()` for stdout and stderr;
 * exported renderers that colour call it themselves.
 */
export async function preparePaint(stream: Stream = process.stdout): Promise<void> {
  if (colours === undefined && isDecorated(stream)) {
    const { Chalk } = await import('chalk')
    colours = new Chalk({ level: 1 })
  }
}

/** Colours for `stream` when it is decorated (after `preparePaint`), else the colourless painter. */
export function paint(stream: Stream = process.stdout): Painter {
  return isDecorated(stream) ? (colours ?? PLAIN) : PLAIN
}

/** Colour for a run status. */
export function statusColour(status: string, p: Painter): string {
  switch (status) {
    case 'succeeded':
      return p.green(status)
    case 'failed':
    case 'timed_out':
    case 'interrupted':
      return p.red(status)
    case 'running':
      return p.cyan(status)
    case 'skipped':
    case 'missed':
      return p.yellow(status)
    default:
      return status
  }
}

/** `text` without its ANSI colour (and other terminal control) codes. */
export function stripAnsi(text: string): string {
  return stripVTControlCharacters(text)
}

function visibleLength(text: string): number {
  return stripAnsi(text).length
}

/**
 * A table: with box drawing on a terminal, plain space-aligned columns otherwise. cli-table3 is
 * loaded only when a box table is drawn.
 */
export async function renderTable(head: string[], rows: string[][], stream: Stream = process.stdout): Promise<string> {
  if (isDecorated(stream)) {
    const { default: Table } = await import('cli-table3')
    await preparePaint(stream)
    const p = paint(stream)
    const table = new Table({ head: head.map((h) => p.bold(h)), style: { head: [], border: [] } })
    for (const row of rows) table.push(row)
    return table.toString()
  }
  // A cell's further lines (a schedule's wording, "in 5m") follow its first in parentheses, so they
  // do not read as columns of their own.
  rows = rows.map((row) => row.map(oneLine))
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))))
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleLength(cell))))
      .join('  ')
      .trimEnd()
  return [line(head), ...rows.map(line)].join('\n')
}

function oneLine(cell: string): string {
  const [first = '', ...rest] = cell.split('\n')
  const more = rest.filter((line) => visibleLength(line) > 0)
  return more.length === 0 ? first : `${first} (${more.join(', ')})`
}

/**
 * An error message shown after its status, without saying the status twice: the engine words an
 * interruption "interrupted: the scheduler shut down…", which follows the status "interrupted".
 */
export function withoutStatus(status: string, message: string): string {
  const prefix = `${status}: `
  return message.startsWith(prefix) ? message.slice(prefix.length) : message
}

/**
 * Send everything written to process.stdout to stderr instead, until the returned function is
 * called: with `--json`, stdout must hold only the JSON document, whatever a job prints.
 * (`console.log` looks up `process.stdout.write` on every call, so it follows too.)
 */
export function divertStdout(): () => void {
  const original = process.stdout.write
  process.stdout.write = ((...args: Parameters<typeof process.stderr.write>) =>
    process.stderr.write(...args)) as typeof process.stdout.write
  return () => {
    process.stdout.write = original
  }
}

/** "in 2h 13m", "3m 5s ago", "now". */
export function relative(targetMs: number, nowMs: number): string {
  const delta = targetMs - nowMs
  const abs = Math.abs(delta)
  if (abs < 1000) return 'now'
  const text = roughly(abs)
  return delta > 0 ? `in ${text}` : `${text} ago`
}

/**
 * How far away an instant is, to the two most significant units ("2h 13m", "3d 4h", "45s"): a
 * countdown, not a duration (durations are `formatDuration`, exact).
 */
function roughly(ms: number): string {
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ]
  const i = units.findIndex(([, size]) => ms >= size)
  const first = units[i]
  if (!first) return `${Math.round(ms)}ms`
  const n1 = Math.floor(ms / first[1])
  const second = units[i + 1]
  const n2 = second ? Math.floor((ms - n1 * first[1]) / second[1]) : 0
  return second && n2 > 0 ? `${n1}${first[0]} ${n2}${second[0]}` : `${n1}${first[0]}`
}

/** An instant in UTC, ISO-8601 with Z. */
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

/** A command job's command for a table cell: one line, `$ ` first, cut with `…` past `max` characters. */
export function commandCell(command: string | readonly string[], max = 48): string {
  const text = commandText(command).replace(/\s*\n\s*/g, ' ')
  return `$ ${text.length > max ? `${text.slice(0, max - 1)}…` : text}`
}
