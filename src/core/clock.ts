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
  setTimeout: (callback, delayMs) =>
    delayMs > MAX_TIMER_MS ? new LongTimer(callback, delayMs) : setTimeout(callback, Math.max(0, delayMs)),
  clearTimeout: (handle) => {
    if (handle instanceof LongTimer) handle.clear()
    else clearTimeout(handle as NodeJS.Timeout)
  },
  waitUntil: preciseWait(),
}

/**
 * The longest delay a Node timer holds: 2^31 − 1 ms, about 24.8 days. A longer one fires after 1 ms
 * (with a TimeoutOverflowWarning), which would end a `timeout: '30d'` attempt or a 30-day retry
 * backoff at once.
 */
const MAX_TIMER_MS = 2 ** 31 - 1

/** A delay longer than a Node timer holds, as a chain of the longest timers. */
class LongTimer {
  private timer: NodeJS.Timeout

  constructor(
    private readonly callback: () => void,
    private remainingMs: number,
  ) {
    this.timer = this.arm()
  }

  private arm(): NodeJS.Timeout {
    const step = Math.min(this.remainingMs, MAX_TIMER_MS)
    this.remainingMs -= step
    return setTimeout(() => {
      if (this.remainingMs > 0) this.timer = this.arm()
      else this.callback()
    }, step)
  }

  clear(): void {
    clearTimeout(this.timer)
  }
}

/**
 * The last stretch before an instant that is spun rather than slept: a sleep of the thread
 * (`Atomics.wait`) ends after its timeout, by Linux's 50 µs timer slack and, in a VM, ~0.15 ms.
 */
const SPIN_MS = 0.2
/**
 * How fast the wall clock may move apart from the monotonic one: 100 ppm, 0.1 ms a second. On Linux
 * NTP slews both alike (no drift); elsewhere the monotonic clock may run free of the slew.
 */
const MAX_DRIFT = 1e-4

/**
 * `systemClock.waitUntil`: sleep without CPU until just before `at`, then spin the rest.
 *
 * Date.now() moves in whole milliseconds, so on its own it cannot say how far into the current one we
 * are. `hires` (performance.timeOrigin + performance.now()) is sub-millisecond and monotonic, but not
 * the wall clock; their offset (true wall time − hires) is learnt from readings. Date.now() floors the
 * true time, so a reading `wall` taken just after `h = hires()` proves offset < wall + 1 − h; the
 * reading just before Date.now() ticks makes that bound tight to a microsecond, and the spin at the end
 * of each wait sees a tick, so the bound is refreshed by every wait.
 *
 * The bound only decides how long to sleep: the wait ends when Date.now() >= at itself, or when `maxMs`
 * of monotonic time has passed, so a wall clock step can neither end it early claiming the instant came
 * nor stretch it. A bound too high (the clock stepped back) is lowered by the next reading and only
 * lengthens a spin. One too low would make the sleep overshoot: a bound is let loosen by MAX_DRIFT as it
 * ages, and one the wall clock has left behind (a step forward, a suspend, faster drift) is contradicted
 * by a reading (wall − h ≥ bound) before it is a millisecond off, so it can make one wake-up late by
 * less than that.
 */
function preciseWait(): (at: number, maxMs: number) => void {
  // Private and never notified: Atomics.wait on it is a sleep with a fractional-millisecond timeout.
  const cell = new Int32Array(new SharedArrayBuffer(4))
  const origin = performance.timeOrigin
  const hires = () => origin + performance.now()
  let bound = Number.POSITIVE_INFINITY // offset < bound, as of hires time `boundTime`
  let boundTime = 0

  /** Fold a reading into the bound; the bound that holds at `h`. */
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

  /** When the earliest waiting timer is due; undefined when none is waiting. */
  nextTimerAt(): number | undefined {
    let next: number | undefined
    for (const timer of this.timers) if (next === undefined || timer.at < next) next = timer.at
    return next
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

/**
 * A clock shifted onto the store's time: hosts sharing a Postgres store agree on due-ness, leases
 * and heartbeats through the database server's clock, whatever their own says. The offset is
 * measured when the store opens (`Store.clockOffset`) and again while the scheduler runs
 * (clock-sync.ts); until then, and for a store on this host, it is 0 and this clock is the one it
 * wraps.
 */
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
