// Lines a job writes with ctx.log, kept with its attempt; bounded so a chatty job cannot bloat the
// state: from the first line past a bound on, lines are counted, not kept (what is kept has no gap),
// and a last line says how many were dropped and which bound was reached.
export const MAX_LINES = 200
export const MAX_LINE_CHARS = 2000
export const MAX_TOTAL_CHARS = 64 * 1024

export interface OutputLine {
  at: number
  level: 'info' | 'warn' | 'error'
  text: string
}

export class OutputBuffer {
  private readonly lines: OutputLine[] = []
  private chars = 0
  private dropped = 0
  /** The bound that dropped the first line dropped, once one has. */
  private bound: string | undefined

  add(level: OutputLine['level'], text: string, at: number): void {
    const clipped = text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS - 3)}...` : text
    this.bound ??= this.boundPassed(clipped.length)
    if (this.bound !== undefined) {
      this.dropped++
      return
    }
    this.lines.push({ at, level, text: clipped })
    this.chars += clipped.length
  }

  /** The bound that keeping one more line of `length` characters would pass, if any. */
  private boundPassed(length: number): string | undefined {
    if (this.lines.length >= MAX_LINES) return `${MAX_LINES} lines`
    if (this.chars + length > MAX_TOTAL_CHARS) return `${MAX_TOTAL_CHARS / 1024} KiB`
    return undefined
  }

  /** JSON for the run record, or null when the job wrote nothing. */
  toJSON(): string | null {
    if (this.lines.length === 0 && this.dropped === 0) return null
    if (this.dropped === 0) return JSON.stringify(this.lines)
    const at = this.lines.at(-1)?.at ?? 0
    const text = `[${this.dropped} more line(s) dropped: output is kept up to ${this.bound}]`
    return JSON.stringify([...this.lines, { at, level: 'warn', text }])
  }
}
