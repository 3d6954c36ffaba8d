/**
 * `console.log` and friends called by a job's code (or by anything it scheduled) are kept with its
 * attempt, like `ctx.log` lines: they reach the run's record and `run:log` listeners, so the CLI
 * prints them as log lines in text mode and as JSON objects in `--log-format json`, never as stray
 * text in a JSON stream. Calls from outside any job are untouched. Whether a job's console calls
 * still reach the process's console is the scheduler's choice (`echo`): an app embedding it sees
 * them as before; `crons start-scheduler` prints them through its events instead.
 */
import { jobScope } from './job-scope.js'

type Level = 'info' | 'warn' | 'error'

/** What a job's console call is handed to (an attempt); returns whether to echo it to the console. */
export interface ConsoleTarget {
  consoleLine(level: Level, args: unknown[]): boolean
}

const LEVELS = { log: 'info', info: 'info', debug: 'info', warn: 'warn', error: 'error' } as const

let installed = false

/** Route the console calls of jobs to their attempts (once per process; idempotent). */
export function captureJobConsole(): void {
  if (installed) return
  installed = true
  for (const method of Object.keys(LEVELS) as (keyof typeof LEVELS)[]) {
    const original = console[method].bind(console)
    console[method] = (...args: unknown[]) => {
      const target = jobScope.getStore() as Partial<ConsoleTarget> | undefined
      if (target?.consoleLine && !target.consoleLine(LEVELS[method], args)) return
      original(...args)
    }
  }
}
