/**
 * How precisely, and at what CPU cost, a start lands on its instant. The scheduler arms a timer a few
 * milliseconds before a whole-millisecond instant, then `Clock.waitUntil(at, 2 × early)` waits out
 * the rest (src/core/start-queue.ts). Compared: the old wait (a spin on Date.now(), restated here) and the
 * system clock's (a sleep of the thread, then a spin of the last fraction of a millisecond), each with
 * the timer 2, 4 and 5 ms early. The variants take turns, so a busy moment of the machine hits all.
 *
 *   node bench/micro/wait.mjs            # 200 starts per variant
 *   node bench/micro/wait.mjs 500        # 500 starts per variant
 *
 * "late" is the return of the wait minus the instant, on performance.now(): the instant's place on it
 * comes from watching Date.now() tick. "timer late" counts timers that fired after the instant (no wait
 * helps those); "re-armed" counts waits that came back before Date.now() reached the instant (the start
 * then arms a timer for the rest, as start-queue.ts does). CPU is process.cpuUsage() over the waitUntil
 * calls. The last line is the timers' own lateness (fire − due), all variants together.
 */
import { performance } from 'node:perf_hooks'
import { importPkg } from '../lib/pkg.mjs'
import { quantile } from '../lib/stats.mjs'

const N = Number(process.argv[2] ?? 200)
const { systemClock } = await importPkg('dist/index.js')

/** The wait before this change: spin on Date.now() until `at`, for at most `maxMs`. */
function spinUntil(at, maxMs) {
  const end = Math.min(at, Date.now() + maxMs)
  while (Date.now() < end) {}
}

const hires = () => performance.timeOrigin + performance.now()

/** Date.now()'s true (unfloored) value minus hires(), from watching Date.now() tick (best of 5). */
function calibrate() {
  let best = { width: Number.POSITIVE_INFINITY, offset: 0 }
  for (let i = 0; i < 5; i++) {
    // `before` is read first: the tick then falls after it, whatever happens between the two reads.
    let before = hires()
    const first = Date.now()
    for (;;) {
      const h = hires()
      const wall = Date.now()
      if (wall !== first) {
        if (h - before < best.width) best = { width: h - before, offset: wall - (before + h) / 2 }
        break
      }
      before = h
    }
  }
  return best.offset
}

/** One start as start-queue.ts makes it: a timer `early` ms before `at`, then the wait; re-armed if short. */
function startAt(at, early, wait) {
  return new Promise((resolve) => {
    const sample = { firedAt: 0, timerLate: false, rearmed: 0, cpuUs: 0, returnedAt: 0 }
    const fire = () => {
      if (sample.firedAt === 0) {
        sample.firedAt = hires()
        sample.timerLate = Date.now() >= at
      }
      const cpu = process.cpuUsage()
      wait(at, early * 2)
      const h = hires()
      const used = process.cpuUsage(cpu)
      sample.cpuUs += used.user + used.system
      const left = at - Date.now()
      if (left > 0) {
        sample.rearmed++
        setTimeout(fire, left)
        return
      }
      sample.returnedAt = h
      resolve(sample)
    }
    setTimeout(fire, at - Date.now() - early)
  })
}

const variants = [
  ['old spin', 2, spinUntil],
  ['new wait', 2, systemClock.waitUntil],
  ['old spin', 4, spinUntil],
  ['new wait', 4, systemClock.waitUntil],
  ['new wait', 5, systemClock.waitUntil],
].map(([name, early, wait]) => ({ name, early, wait, lateUs: [], timerLate: 0, rearmed: 0, cpuUs: 0 }))
const timerLateUs = []

const offset = calibrate()
for (let i = 0; i < N * variants.length; i++) {
  const v = variants[i % variants.length]
  // An instant 3–9 ms past the earliest one the timer can be armed for, at a varying phase.
  const at = Date.now() + v.early + 3 + (((i / variants.length) % 7) | 0)
  const sample = await startAt(at, v.early, v.wait)
  v.lateUs.push((sample.returnedAt - (at - offset)) * 1000)
  timerLateUs.push((sample.firedAt - (at - v.early - offset)) * 1000)
  if (sample.timerLate) v.timerLate++
  v.rearmed += sample.rearmed
  v.cpuUs += sample.cpuUs
  // Idle a little between starts, as a scheduler does between instants.
  await new Promise((r) => setTimeout(r, 1 + (i % 3)))
}
const drift = (calibrate() - offset) * 1000

const us = (v) => v.toFixed(0).padStart(6)
const count = (n) => String(n).padStart(5)
console.log(`${N} starts per variant; late = wait's return − instant, µs (a shared machine is noisy: run it twice)`)
console.log('variant   early   late p50    p99    max   timer late  re-armed  CPU/wait µs')
for (const v of variants) {
  const [p50, p99, max] = [0.5, 0.99, 1].map((q) => quantile(v.lateUs, q))
  console.log(
    `${v.name} ${String(v.early).padStart(2)} ms  ${us(p50)} ${us(p99)} ${us(max)}       ${count(v.timerLate)}` +
      `     ${count(v.rearmed)}     ${us(v.cpuUs / N)}`,
  )
}
const over = (ms) => `${((100 * timerLateUs.filter((t) => t > ms * 1000).length) / timerLateUs.length).toFixed(1)}%`
console.log(
  `timers (${timerLateUs.length}): fire − due p50 ${us(quantile(timerLateUs, 0.5))} µs, p99 ${us(quantile(timerLateUs, 0.99))} µs;` +
    ` later than 2 ms ${over(2)}, 4 ms ${over(4)}, 5 ms ${over(5)}`,
)
console.log(`Date.now() − performance offset moved ${drift.toFixed(1)} µs during the run (calibration ±1 µs)`)
