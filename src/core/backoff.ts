/**
 * The waits between a failed attempt and its retry. Shutdown cancels them all at once: a retry that
 * has not started by then never starts (the runner records it as interrupted instead).
 */
import type { Clock, TimerHandle } from './clock.js'

export class RetryBackoffs {
  private readonly waits = new Set<{ timer: TimerHandle; cancel: () => void }>()
  private cancelled = false

  constructor(private readonly clock: Clock) {}

  /** Wait `ms` on the clock; resolves false if `cancelAll` cut the wait (or came before it). */
  wait(ms: number): Promise<boolean> {
    if (this.cancelled) return Promise.resolve(false)
    return new Promise((resolve) => {
      const entry = {
        timer: this.clock.setTimeout(() => {
          this.waits.delete(entry)
          resolve(true)
        }, ms),
        cancel: () => resolve(false),
      }
      this.waits.add(entry)
    })
  }

  /** End every wait now (each resolves false), and every later one at once. */
  cancelAll(): void {
    this.cancelled = true
    for (const entry of this.waits) {
      this.clock.clearTimeout(entry.timer)
      entry.cancel()
    }
    this.waits.clear()
  }
}
