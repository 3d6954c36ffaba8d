import { afterEach, describe, expect, it, vi } from 'vitest'
import { systemClock } from '../../src/core/clock.js'

// Behaviour only, never durations: the machine running the tests may be busy. Each wait is a few ms.
const waitUntil = (at: number, maxMs: number) => systemClock.waitUntil?.(at, maxMs)
const realNow = Date.now

/** Watch the thread's sleeps (they still happen); `timeouts()` lists each one's timeout in ms. */
function watchSleeps() {
  const spy = vi.spyOn(Atomics, 'wait')
  // A spy already in place is returned as is: count only the calls from here on.
  const before = spy.mock.calls.length
  const calls = () => spy.mock.calls.slice(before)
  return { count: () => calls().length, timeouts: () => calls().map((call) => call[3] as number) }
}

/**
 * A wait 6 ms ahead, started `phaseMs` into a millisecond, ends on its instant and never plans a
 * sleep past it. Date.now() is caught as it ticks, so the true time is known to be at least the tick
 * plus the time since: what is left until the instant is bounded, however busy the machine.
 */
function waitsCorrectly(phaseMs = 0): void {
  const first = Date.now()
  let tick = first
  while (tick === first) tick = Date.now()
  const tickedAt = performance.now()
  while (performance.now() - tickedAt < phaseMs) {}
  const at = tick + 6
  const sleeps = watchSleeps()
  const left = at - tick - (performance.now() - tickedAt)
  waitUntil(at, 50)
  expect(Date.now()).toBeGreaterThanOrEqual(at)
  for (const timeout of sleeps.timeouts()) expect(timeout).toBeLessThanOrEqual(left + 0.001)
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('systemClock.waitUntil', () => {
  it('returns once Date.now() has reached the instant, having slept no further than it', () => {
    const sleeps = watchSleeps()
    for (const phaseMs of [0, 0.3, 0.6, 0.9, 0.6, 0.3]) waitsCorrectly(phaseMs)
    // It sleeps rather than spins.
    expect(sleeps.count()).toBeGreaterThan(0)
  })

  it('gives up after maxMs when the instant is far away', () => {
    const sleeps = watchSleeps()
    const at = Date.now() + 60_000
    waitUntil(at, 3)
    expect(Date.now()).toBeLessThan(at)
    for (const timeout of sleeps.timeouts()) expect(timeout).toBeLessThanOrEqual(3)
  })

  it('returns at once, without sleeping, for an instant already past, no time to wait, or nonsense', () => {
    const sleeps = watchSleeps()
    waitUntil(Date.now() - 1000, 10_000)
    waitUntil(Date.now(), 10_000)
    waitUntil(Date.now() + 60_000, 0)
    waitUntil(Date.now() + 60_000, Number.NaN)
    waitUntil(Number.NaN, 10)
    expect(sleeps.count()).toBe(0)
  })

  it('gives up after maxMs when the wall clock steps back during the wait, then waits correctly again', () => {
    const at = realNow() + 3
    let calls = 0
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() - (calls++ > 0 ? 10_000 : 0))
    const sleeps = watchSleeps()
    waitUntil(at, 5)
    expect(Date.now()).toBeLessThan(at)
    for (const timeout of sleeps.timeouts()) expect(timeout).toBeLessThanOrEqual(5)
    vi.restoreAllMocks()

    // What it learnt of the stepped-back clock must not make it sleep past the next instant.
    waitsCorrectly()
  })

  it('copes with the wall clock stepping forward, before the instant or past it, then waits correctly again', () => {
    const far = realNow() + 20_000
    const now = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 10_000)
    waitUntil(far, 4)
    expect(Date.now()).toBeLessThan(far)

    const at = realNow() + 4
    let calls = 0
    now.mockImplementation(() => realNow() + (calls++ > 0 ? 10_000 : 0))
    waitUntil(at, 50)
    expect(Date.now()).toBeGreaterThanOrEqual(at)
    vi.restoreAllMocks()

    // What it learnt of the stepped-forward clock must not turn the next wait into a spin.
    const sleeps = watchSleeps()
    waitsCorrectly()
    expect(sleeps.count()).toBeGreaterThan(0)
  })

  it('does not hang on a wall clock that stands still', () => {
    const frozen = realNow()
    vi.spyOn(Date, 'now').mockReturnValue(frozen)
    const sleeps = watchSleeps()
    waitUntil(frozen + 1, 4)
    expect(Date.now()).toBeLessThan(frozen + 1)
    for (const timeout of sleeps.timeouts()) expect(timeout).toBeLessThanOrEqual(4)
  })
})

describe('systemClock.setTimeout', () => {
  const DAY = 86_400_000

  afterEach(() => {
    vi.useRealTimers()
  })

  it('holds a delay longer than a Node timer can (2^31 − 1 ms) instead of firing at once', () => {
    vi.useFakeTimers()
    const fired: number[] = []
    const start = Date.now()
    systemClock.setTimeout(() => fired.push(Date.now() - start), 30 * DAY)
    vi.advanceTimersByTime(25 * DAY)
    expect(fired).toEqual([])
    vi.advanceTimersByTime(5 * DAY - 1)
    expect(fired).toEqual([])
    vi.advanceTimersByTime(1)
    expect(fired).toEqual([30 * DAY])
  })

  it('cancels a long delay at any step of its chain', () => {
    vi.useFakeTimers()
    const fired: string[] = []
    const early = systemClock.setTimeout(() => fired.push('early'), 60 * DAY)
    const late = systemClock.setTimeout(() => fired.push('late'), 60 * DAY)
    systemClock.clearTimeout(early)
    vi.advanceTimersByTime(30 * DAY)
    systemClock.clearTimeout(late)
    vi.advanceTimersByTime(60 * DAY)
    expect(fired).toEqual([])
  })

  it('keeps plain timers for delays that fit (and never a negative delay)', () => {
    vi.useFakeTimers()
    const fired: string[] = []
    systemClock.setTimeout(() => fired.push('past'), -5)
    systemClock.setTimeout(() => fired.push('soon'), 10)
    const cancelled = systemClock.setTimeout(() => fired.push('cancelled'), 10)
    systemClock.clearTimeout(cancelled)
    vi.advanceTimersByTime(10)
    expect(fired).toEqual(['past', 'soon'])
  })
})
