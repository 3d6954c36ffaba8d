// Lines a job writes with ctx.log, kept with its attempt; bounded so a chatty job cannot bloat the
// state: past the bounds lines are counted, not kept, and a last line says how many were dropped.
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

  add(level: OutputLine['level'], text: string, at: number): void {
    const clipped = text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS - 3)}...` : text
    if (this.lines.length >= MAX_LINES || this.chars + clipped.length > MAX_TOTAL_CHARS) {
      this.dropped++
      return
    }
    this.lines.push({ at, level, text: clipped })
    this.chars += clipped.length
  }

  /** JSON for the run record, or null when the job wrote nothing. */
  toJSON(): string | null {
    if (this.lines.length === 0 && this.dropped === 0) return null
    if (this.dropped === 0) return JSON.stringify(this.lines)
    const at = this.lines.at(-1)?.at ?? 0
    const text = `[${this.dropped} more line(s) dropped: output is kept up to ${MAX_LINES} lines]`
    return JSON.stringify([...this.lines, { at, level: 'warn', text }])
  }
}
