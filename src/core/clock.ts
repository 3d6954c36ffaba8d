// Time, injected: the engine never calls Date.now() or setTimeout directly, so tests drive it with `FakeClock`.
/** Opaque: whatever the clock needs to cancel its timer. */
export type TimerHandle = object

export interface Clock {
  /** Wall-clock time, epoch milliseconds. */
  now(): number
  setTimeout(callback: () => void, delayMs: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
  /** Optional: block until `now() >= at`, for at most `maxMs`, so jobs start on their instant (`preciseStart`). */
  waitUntil?(at: number, maxMs: number): void
}

/** The real clock. Its timers keep the process alive, as a scheduler should. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) =>
    delayMs > MAX_TIMER_MS ? new LongTimer(callback, delayMs) : setTimeout(callback, Math.max(0, delayMs)),
  clearTimeout: (handle) => {
    if (handle instanceof LongTimer) handle.clear()
    else clearTimeout(handle as NodeJS.Timeout)
  },
  waitUntil: preciseWait(),
}

/** The longest delay a Node timer holds (~24.8 days); a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1

/** A delay longer than a Node timer holds (a `timeout: '30d'`), as a chain of the longest timers. */
class LongTimer {
  private timer: NodeJS.Timeout

  constructor(callback: () => void, remainingMs: number) {
    const arm = (): NodeJS.Timeout => {
      const step = Math.min(remainingMs, MAX_TIMER_MS)
      remainingMs -= step
      return setTimeout(() => {
        if (remainingMs > 0) this.timer = arm()
        else callback()
      }, step)
    }
    this.timer = arm()
  }

  clear(): void {
    clearTimeout(this.timer)
  }
}

/** Spun rather than slept: `Atomics.wait` overshoots by Linux's 50 µs timer slack, ~0.15 ms in a VM. */
const SPIN_MS = 0.2
/** How fast the wall clock may drift from the monotonic one: 100 ppm. */
const MAX_DRIFT = 1e-4

/**
 * `systemClock.waitUntil`: sleep without CPU until just before `at`, then spin. A reading `wall` just
 * after `h = hires()` proves (wall time − hires) < wall + 1 − h, tight when Date.now() has just ticked
 * (every spin sees a tick). That bound only sets the sleep: the wait ends on Date.now() >= at or `maxMs`
 * of monotonic time. A bound too high lengthens a spin; one the wall clock left behind is contradicted
 * by a reading (wall − h ≥ bound) before it is a millisecond off. docs/engine.md: "Precise starts".
 */
function preciseWait(): (at: number, maxMs: number) => void {
  // Private and never notified: Atomics.wait on it is a sleep with a fractional-millisecond timeout.
  const cell = new Int32Array(new SharedArrayBuffer(4))
  const origin = performance.timeOrigin
  const hires = () => origin + performance.now()
  let bound = Number.POSITIVE_INFINITY // offset < bound, as of hires time `boundTime`
  let boundTime = 0

  /** Fold a reading into the bound; returns the bound that holds at `h`. */
  const offsetBound = (h: number, wall: number): number => {
    const held = bound + (h - boundTime) * MAX_DRIFT
    const seen = wall + 1 - h
    if (seen < held || wall - h >= held) {
      bound = seen
      boundTime = h
      return seen
    }
    return held
  }

  return (at, maxMs) => {
    const deadline = hires() + maxMs
    for (;;) {
      const h = hires()
      const wall = Date.now()
      // Written so that a NaN `at` or `maxMs` ends the wait too.
      if (!(wall < at && h < deadline)) return
      // `at − bound` is the earliest hires time the wall clock can reach `at`.
      const sleep = Math.min(at - offsetBound(h, wall), deadline) - h - SPIN_MS
      if (sleep > 0) Atomics.wait(cell, 0, 0, sleep)
    }
  }
}

/** A clock for tests: time moves only when told; `advance` fires due timers in order, settling promises between. */
export class FakeClock implements Clock {
  private current: number
  private timers: { id: number; at: number; callback: () => void }[] = []
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

  get pending(): number {
    return this.timers.length
  }

  nextTimerAt(): number | undefined {
    let next: number | undefined
    for (const timer of this.timers) if (next === undefined || timer.at < next) next = timer.at
    return next
  }

  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.current + ms)
  }

  async advanceTo(target: number | Date | string): Promise<void> {
    const end = typeof target === 'number' ? target : new Date(target).getTime()
    await flushCallbacks()
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0]
      if (!due) break
      this.timers = this.timers.filter((t) => t !== due)
      this.current = Math.max(this.current, due.at)
      due.callback()
      await flushCallbacks()
    }
    this.current = Math.max(this.current, end)
    await flushCallbacks()
  }

  /** Jump the wall clock without firing timers (suspend, NTP step). */
  jump(ms: number): void {
    this.current += ms
  }
}

/** Let pending promise callbacks and I/O callbacks run. */
export async function flushCallbacks(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/** A clock shifted onto the store's time by the offset clock-sync.ts measures (0 for a store on this host). */
export class StoreTimeClock implements Clock {
  offsetMs = 0
  readonly waitUntil?: (at: number, maxMs: number) => void

  constructor(readonly base: Clock) {
    const wait = base.waitUntil?.bind(base)
    if (wait !== undefined) this.waitUntil = (at, maxMs) => wait(at - this.offsetMs, maxMs)
  }

  now(): number {
    return this.base.now() + this.offsetMs
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    return this.base.setTimeout(callback, delayMs)
  }

  clearTimeout(handle: TimerHandle): void {
    this.base.clearTimeout(handle)
  }
}
