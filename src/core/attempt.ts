/**
 * Small pieces of one attempt: a lazily created abort signal, error and result summaries.
 */
import { format } from 'node:util'
import type { MissedInfo } from '../store/types.js'

/**
 * An AbortController made only when a job reads `ctx.signal` (creating one per attempt is a
 * measurable share of starting a job); aborting before that is remembered and applied on creation.
 */
export class LazyAbort {
  private controller: AbortController | undefined
  private reason: unknown
  private aborted = false

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController()
      if (this.aborted) this.controller.abort(this.reason)
    }
    return this.controller.signal
  }

  abort(reason: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason
    this.controller?.abort(reason)
  }
}

export function toMissed(missed: MissedInfo) {
  return { count: missed.count, first: new Date(missed.first), last: new Date(missed.last) }
}

/** Message and stack of anything thrown, Error or not. */
export function describeError(error: unknown): { message: string; stack?: string } {
  if (error instanceof Error) {
    return { message: error.message || error.name, ...(error.stack ? { stack: error.stack } : {}) }
  }
  if (typeof error === 'string') return { message: error }
  return { message: `non-Error thrown: ${format('%O', error)}` }
}

/** JSON of a job's return value, bounded, for the run record. */
export function summarise(value: unknown): string | null {
  if (value === undefined) return null
  try {
    const text = JSON.stringify(value)
    if (text === undefined) return null
    return text.length > 4096 ? `${text.slice(0, 4093)}...` : text
  } catch {
    return JSON.stringify(format('%O', value).slice(0, 4096))
  }
}
