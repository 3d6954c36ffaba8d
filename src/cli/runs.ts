/** How `crons logs` draws attempts (a table, `--follow` lines, a `--run ID` block), slots in their job's zone. */
import type { AttemptDetail, AttemptView } from '../core/views.js'
import {
  clip,
  firstLine,
  formatLocal,
  formatLocalShort,
  jobText,
  type Painter,
  relative,
  renderTable,
  runDuration,
  statusColour,
  withoutStatus,
} from './output.js'

export interface RunsContext {
  /** The zone a job's slots are shown in: the configured job's zone, else UTC (a job no longer configured). */
  zoneOf: (job: string) => string
  now: number
  wide?: boolean
}

export async function renderAttemptTable(
  runs: readonly AttemptView[],
  context: RunsContext,
  p: Painter,
  stream?: { isTTY?: boolean },
): Promise<string> {
  const rows = runs.map((run) => [
    String(run.id),
    run.job,
    formatLocalShort(Date.parse(run.slot), context.zoneOf(run.job)),
    run.trigger,
    String(run.attempt),
    statusColour(run.status, p),
    relative(Date.parse(run.startedAt), context.now),
    runDuration(run),
    noteText(run),
  ])
  const head = ['id', 'job', 'slot', 'trigger', 'attempt', 'status', 'started', 'duration', 'error / reason']
  return renderTable(head, rows, stream, { wide: context.wide === true, fixed: [0, 4, 5, 6] })
}

/** One attempt as a line for `--follow`: absolute start times, since "3s ago" goes stale as it scrolls up. */
export function renderAttemptLine(run: AttemptView, context: RunsContext, p: Painter): string {
  const slot = formatLocalShort(Date.parse(run.slot), context.zoneOf(run.job))
  const took = run.durationMs === null ? '' : ` in ${runDuration(run)}`
  const note = noteText(run)
  return (
    `${p.dim(run.startedAt)}  run ${run.id}  ${p.bold(run.job)}  slot ${slot}  ${run.trigger}  attempt ${run.attempt}  ` +
    `${statusColour(run.status, p)}${took}${note === '' ? '' : `: ${clip(note, 200)}`}`
  )
}

/** Everything stored about one attempt; output lines are timed from the attempt's start. */
export function renderAttemptDetail(run: AttemptDetail, context: RunsContext, p: Painter): string {
  const zone = context.zoneOf(run.job)
  const started = Date.parse(run.startedAt)
  const field = (label: string, value: string) => `${p.bold(label.padEnd(10))} ${value}`
  // A text of several lines: the later ones start at the column of its first (a label's, an output line's).
  const indent = (text: string, column = 11) => text.split('\n').join(`\n${' '.repeat(column)}`)
  const lines = [
    `${p.bold(`run ${run.id}`)}  ${p.bold(run.job)}  ${statusColour(run.status, p)}`,
    field('slot', `${formatLocal(Date.parse(run.slot), zone)}  ${p.dim(run.slot)}`),
    field('trigger', run.trigger),
    field('attempt', String(run.attempt)),
    field('started', `${run.startedAt}  ${p.dim(`(${relative(started, context.now)})`)}`),
    field('finished', run.finishedAt ?? (run.status === 'running' ? 'still running' : '-')),
    field('duration', runDuration(run)),
    field('instance', run.active ? `${run.instanceId} ${p.cyan('(code still executing)')}` : run.instanceId),
  ]
  if (run.reason !== null) lines.push(field('reason', indent(jobText(run.reason))))
  if (run.error !== null) {
    lines.push(field('error', p.red(indent(jobText(run.error.message)))))
    if (run.error.stack !== null) lines.push(field('stack', p.dim(indent(jobText(run.error.stack)))))
  }
  if (run.result !== null) lines.push(field('result', indent(jobText(run.result))))
  if (run.output.length === 0) {
    lines.push(field('output', p.dim(run.status === 'running' ? 'none yet: stored when the attempt ends' : 'none')))
  } else {
    lines.push(field('output', `${run.output.length} line(s)`))
    for (const line of run.output) {
      const offset = `+${((Date.parse(line.at) - started) / 1000).toFixed(3)}s`.replace('+-', '-')
      const level = line.level === 'info' ? 'info ' : line.level === 'warn' ? p.yellow('warn ') : p.red('error')
      lines.push(`  ${p.dim(offset.padStart(9))}  ${level}  ${indent(jobText(line.text), 20)}`)
    }
  }
  return lines.join('\n')
}

/** The first line of the error (not repeating the status), else the skip/missed reason. */
function noteText(run: AttemptView): string {
  const text = (run.error ? withoutStatus(run.status, run.error.message) : null) ?? run.reason ?? ''
  return jobText(firstLine(text))
}
