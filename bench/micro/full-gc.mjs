/**
 * What a full garbage collection between two instants does to the next instant's start: scenario A's
 * workload (1,000 jobs every second, every run recorded in a SQLite state file) driven by a
 * FakeClock, with a full collection forced after every other second, once that second's runs have
 * ended. Prints how long starting all 1,000 jobs of an instant took (first job called to last),
 * after a full collection and after none.
 *
 *   node bench/micro/full-gc.mjs          # 40 seconds of slots
 *   node bench/micro/full-gc.mjs 100      # 100
 *
 * V8 collects a hidden class once no object of it is left, and discards the optimised code built
 * for it; between two instants no run exists. Run it with `--trace-deopt` to see which functions
 * are sent back to the interpreter ("reason: weak objects") after each collection.
 */
import { performance } from 'node:perf_hooks'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { startFakeEngine } from '../lib/fake-engine.mjs'
import { median, quantile } from '../lib/stats.mjs'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc')

const JOBS = 1000
const SECONDS = Number(process.argv[2] ?? 40)

let first = Number.NaN
let last = Number.NaN
const engine = await startFakeEngine(
  (i) => (ctx) => {
    const now = performance.now()
    if (Number.isNaN(first)) first = now
    last = now
    return ctx.scheduledAt.getTime() + i
  },
  { jobs: JOBS, warmupSeconds: 10 },
)
const { clock } = engine

const afterGc = []
const plain = []
for (let i = 0; i < SECONDS; i++) {
  const collect = i % 2 === 1
  if (collect) gc()
  first = Number.NaN
  await clock.advance(1000)
  ;(collect ? afterGc : plain).push(last - first)
}
await engine.stop()
const errors = engine.errors()
const ms = (list) =>
  `median ${median(list).toFixed(2)} ms, p90 ${quantile(list, 0.9).toFixed(2)} ms, max ${Math.max(...list).toFixed(2)} ms`
console.log(`starting the ${JOBS} jobs of an instant (first job called to last), ${SECONDS} instants:`)
console.log(`  after a full garbage collection: ${ms(afterGc)}`)
console.log(`  after none:                      ${ms(plain)}`)
if (errors > 0) console.log(`${errors} engine errors`)
