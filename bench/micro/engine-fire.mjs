/**
 * The engine's CPU per fire without real timers: scenario A's workload (1,000 jobs every second,
 * every run recorded in a SQLite state file) driven by a FakeClock, so what is measured is the
 * scheduler, runner and store, not timer wake-ups or the machine's idle time.
 *
 *   node bench/micro/engine-fire.mjs              # 60 seconds of slots, back to back
 *   node bench/micro/engine-fire.mjs 60 900       # the same, idling 900 ms of real time after each
 *
 * The second form shows what running each second's burst on cold caches costs, as the real
 * scheduler does (it sleeps between instants).
 */
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { startFakeEngine } from '../lib/fake-engine.mjs'

const SECONDS = Number(process.argv[2] ?? 60)
const IDLE_MS = Number(process.argv[3] ?? 0)

let fires = 0
const engine = await startFakeEngine(() => (ctx) => {
  fires++
  return ctx.scheduledAt.getTime()
})
const { clock } = engine

const firstFire = fires
const cpu = process.cpuUsage()
const wall = performance.now()
let idle = 0
for (let i = 0; i < SECONDS; i++) {
  await clock.advance(1000)
  if (IDLE_MS > 0) {
    const t = performance.now()
    await sleep(IDLE_MS)
    idle += performance.now() - t
  }
}
const used = process.cpuUsage(cpu)
const busy = performance.now() - wall - idle
const n = fires - firstFire
await engine.stop()
const errors = engine.errors()
console.log(
  `${n} fires${IDLE_MS > 0 ? `, idling ${IDLE_MS} ms after each second` : ''}: ` +
    `CPU ${((used.user + used.system) / n).toFixed(2)} µs per fire, busy wall ${((busy * 1000) / n).toFixed(2)} µs per fire` +
    (errors > 0 ? `, ${errors} engine errors` : ''),
)
