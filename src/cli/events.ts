/** Engine events as the lines `start-scheduler` and `run-job` print: text, or one JSON object per line. */
import { describeError } from '../core/describe.js'
import type { EngineEmitter, EngineEvents } from '../core/events.js'
import type { ReloadResult } from '../core/reload.js'
import {
  firstLine,
  formatDuration,
  formatUtc,
  jobText,
  type Painter,
  paint,
  statusColour,
  withoutStatus,
} from './output.js'

export type LogFormat = 'text' | 'json'

/** Print every engine event worth a line to `write`, until the returned function is called. */
export function printEvents(events: EngineEmitter, format: LogFormat, write: (line: string) => void): () => void {
  const p = paint()
  const offs = (Object.keys(TEXT) as Printed[]).map((name) => {
    const listener = (payload: Payload<typeof name>) =>
      write(format === 'json' ? jsonLine(name, payload) : textLine(name, payload, p))
    events.on(name, listener as never)
    return () => events.off(name, listener as never)
  })
  return () => {
    for (const off of offs) off()
  }
}

function jsonLine(event: string, payload: unknown): string {
  return JSON.stringify({ time: new Date().toISOString(), event, ...toJson(payload) }, (key, value) =>
    key === 'error' && value instanceof Error ? { message: value.message } : value,
  )
}

const INSTANTS = ['slot', 'startedAt', 'finishedAt', 'at', 'plannedAt', 'wokeAt']

/** Instants as ISO strings in JSON lines, `slot:missed`'s `missed.first` and `missed.last` too. */
function toJson(payload: unknown, instants = INSTANTS): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(payload as Record<string, unknown>)) {
    if (key === 'missed' && typeof value === 'object' && value !== null) out[key] = toJson(value, ['first', 'last'])
    else out[key] = instants.includes(key) && typeof value === 'number' ? new Date(value).toISOString() : value
  }
  return out
}

type Payload<K extends keyof EngineEvents> = EngineEvents[K][0]
type Printers = { [K in keyof EngineEvents]?: (e: Payload<K>, p: Painter) => string }

/** The engine events worth a line, and that line as text. */
const TEXT = {
  'run:started': (e, p) =>
    `${p.cyan('start ')} ${p.bold(e.job)} slot ${formatUtc(e.slot)} attempt ${e.attempt} (${e.trigger})`,
  'run:finished': (e, p) => {
    // "interrupted in 1s: stopped before…", not "interrupted in 1s: interrupted: stopped before…".
    const why = e.error ? `: ${jobText(firstLine(withoutStatus(e.status, e.error.message)))}` : ''
    const retry = e.retryInMs === undefined ? '' : `, retry in ${formatDuration(e.retryInMs)}`
    const status = statusColour(e.status, p)
    return `${p.bold('finish')} ${p.bold(e.job)} slot ${formatUtc(e.slot)} attempt ${e.attempt} ${status} in ${formatDuration(e.durationMs)}${why}${retry}`
  },
  // A text of several lines: one line each, as a command job's output is.
  'run:log': (e, p) => {
    const head = `${p.dim('log   ')} ${p.bold(e.job)} ${e.level === 'info' ? 'info' : p.yellow(e.level)}`
    return e.text
      .split('\n')
      .map((part) => `${head} ${jobText(part)}`)
      .join('\n')
  },
  'slot:skipped': (e, p) => `${p.yellow('skip  ')} ${p.bold(e.job)} slot ${formatUtc(e.slot)}: ${jobText(e.reason)}`,
  'slot:missed': (e, p) => {
    const what = e.catchUp ? 'catching up once for the latest' : 'recorded as missed'
    const range = `from ${formatUtc(e.missed.first)} to ${formatUtc(e.missed.last)}`
    return `${p.yellow('missed')} ${p.bold(e.job)} ${e.missed.count} slot(s) ${range}, ${what}`
  },
  'timer:overdue': (e, p) =>
    `${p.yellow('late  ')} timer woke ${formatDuration(e.lateMs)} late (event loop blocked or machine suspended)`,
  'runs:interrupted': (e, p) =>
    `${p.yellow('reaped')} run(s) ${e.runIds.join(', ')} marked interrupted: the process running them stopped heartbeating`,
  'hook:failed': (e, p) => `${p.red('hook  ')} ${p.bold(e.job)} ${e.hook} failed: ${jobText(firstLine(e.message))}`,
  'config:reloaded': (e, p) => `${p.cyan('reload')} ${reloadedText(e)}`,
  'clock:skew': (e, p) =>
    e.skewed
      ? `${p.yellow('clock ')} ${skewText(e.offsetMs)}`
      : `${p.dim('clock ')} this host's clock is back within 1s of the state's (offset ${e.offsetMs} ms)`,
  'store:unreachable': (e, p) =>
    `${p.red('state ')} ${firstLine(e.message)}: ${firstLine(describeError(e.error).message)}; retrying until it answers (slots past their misfire grace meanwhile will be recorded missed)`,
  'store:reachable': (e, p) => `${p.green('state ')} reachable again after ${formatDuration(e.downMs)}`,
  'engine:error': (e, p) =>
    `${p.red('error ')} ${firstLine(e.message)}${e.error === undefined ? '' : `: ${firstLine(describeError(e.error).message)}`}`,
} satisfies Printers
type Printed = keyof typeof TEXT

/** "config reloaded: 1 added (x), 1 removed (y), 2 changed (a, b)", and what was not applied. */
export function reloadedText(result: ReloadResult): string {
  const part = (names: string[], what: string) =>
    names.length === 0 ? [] : [`${names.length} ${what} (${listed(names)})`]
  const parts = [...part(result.added, 'added'), ...part(result.removed, 'removed'), ...part(result.changed, 'changed')]
  const what = parts.length === 0 ? 'no job added, removed or changed' : parts.join(', ')
  return `config reloaded: ${what}${result.notApplied.map((note) => `; ${note}`).join('')}`
}

function listed(names: string[]): string {
  const shown = 5
  return names.length <= shown
    ? names.join(', ')
    : `${names.slice(0, shown).join(', ')} and ${names.length - shown} more`
}

/** A config that did not load or validate on reload: the running one is kept. */
export function reloadRefusedLine(message: string, format: LogFormat): string {
  const note = 'config not reloaded, the running config is kept'
  if (format === 'json') return jsonLine('config:rejected', { note, message })
  const p = paint()
  return `${p.dim(new Date().toISOString())} ${p.red('error ')} ${note}: ${firstLine(message)}`
}

/** A host clock more than a second off the state's (offset: the state's clock minus this host's). */
export function skewText(offsetMs: number): string {
  const how = offsetMs > 0 ? 'behind' : 'ahead of'
  return `this host's clock is ${formatDuration(Math.abs(offsetMs))} ${how} the state's (the database server's); scheduling on the server's time`
}

/** After a refused reload, the config's files are back to the version running (`--watch`). */
export function configRestoredLine(format: LogFormat): string {
  const note = 'the config is back to the version running: nothing to reload'
  if (format === 'json') return jsonLine('config:restored', { note })
  const p = paint()
  return `${p.dim(new Date().toISOString())} ${p.cyan('reload')} ${note}`
}

/** The event's line with the time first (a job's log text of several lines: each line). */
function textLine<K extends Printed>(event: K, payload: Payload<K>, p: Painter): string {
  const time = p.dim(new Date().toISOString())
  return (TEXT as Printers)[event]!(payload, p)
    .split('\n')
    .map((line) => `${time} ${line}`)
    .join('\n')
}
