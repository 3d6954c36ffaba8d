/**
 * Time, injected. The engine never calls Date.now() or setTimeout directly, so tests drive the real
 * scheduler with `FakeClock` instead of sleeping, and a jump of the wall clock can be simulated.
 */

/** Opaque: whatever the clock needs to cancel its timer. */
export type TimerHandle = object

export interface Clock {
  /** Wall-clock time, epoch milliseconds. */
  now(): number
  setTimeout(callback: () => void, delayMs: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
  /**
   * Optional: block until `now() >= at`, for at most `maxMs`. A timer fires up to a millisecond or
   * two after its due time; a clock that can wait out the last stretch precisely lets the scheduler
   * wake just before an instant and start its jobs on it. Clocks without it get plain timers.
   */
  waitUntil?(at: number, maxMs: number): void
}

/** The real clock. Its timers keep the process alive, as a scheduler should. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, Math.max(0, delayMs)),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  waitUntil: (at, maxMs) => {
    const end = Math.min(at, Date.now() + maxMs)
    while (Date.now() < end) {
      // A spin of at most `maxMs` (a couple of milliseconds): sleeping has no finer grain than that.
    }
  },
}

interface FakeTimer {
  id: number
  at: number
  callback: () => void
}

/**
 * A clock for tests: time moves only when told. `advance` fires every timer that comes due, in
 * order, letting promises settle between them, so async engine code runs as it would for real.
 */
export class FakeClock implements Clock {
  private current: number
  private timers: FakeTimer[] = []
  private nextId = 1

  constructor(start: number | Date | string) {
    this.current = typeof start === 'number' ? start : new Date(start).getTime()
  }

  now(): number {
    return this.current
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.current + Math.max(0, delayMs), callback }
    this.timers.push(timer)
    return timer
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t !== handle)
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.timers.length
  }

  /** Move time forward by `ms`, firing due timers in order. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.current + ms)
  }

  /** Move time forward to `target`, firing due timers in order. */
  async advanceTo(target: number | Date | string): Promise<void> {
    const end = typeof target === 'number' ? target : new Date(target).getTime()
    await settle()
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0]
      if (!due) break
      this.timers = this.timers.filter((t) => t !== due)
      this.current = Math.max(this.current, due.at)
      due.callback()
      await settle()
    }
    this.current = Math.max(this.current, end)
    await settle()
  }

  /** Jump the wall clock without firing timers (suspend, NTP step). */
  jump(ms: number): void {
    this.current += ms
  }
}

/** Let pending promise callbacks and I/O callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}
