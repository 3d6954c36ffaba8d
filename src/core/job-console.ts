// `console.log` and friends called by a job's code (or anything it scheduled) are kept with its
// attempt like `ctx.log` lines, so `--log-format json` never gets stray text. Echoing them to the
// process's console too is the scheduler's choice: an app embedding it sees them as before.
import { jobScope } from './job-scope.js'

type Level = 'info' | 'warn' | 'error'

/** An attempt; returns whether to echo the call to the console. */
export interface ConsoleTarget {
  consoleLine(level: Level, args: unknown[]): boolean
}

const LEVELS = { log: 'info', info: 'info', debug: 'info', warn: 'warn', error: 'error' } as const

let installed = false

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
