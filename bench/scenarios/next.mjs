/**
 * Scenario C (one process per library): the next 1,000 fire times of one expression in one zone.
 *
 * Forked by bench/run.mjs with { lib, expression, zone, from, count, maxReps, budgetMs }. One
 * "chain" is: build the schedule from the text, then ask for `count` fire times, each after the
 * previous one.
 * - cold: the first chain in a fresh process (module already imported), per fire time;
 * - warm: the median over further chains (up to maxReps, or as many as fit in budgetMs, at least
 *   MIN_REPS), per fire time.
 * The fire times themselves are returned so the runner can check that the libraries agree.
 */
import { performance } from 'node:perf_hooks'
import { runAsChild } from '../lib/fork.mjs'
import { importPkg } from '../lib/pkg.mjs'
import { median } from '../lib/stats.mjs'

const { lib, expression, zone, from, count, maxReps, budgetMs } = JSON.parse(process.argv[2])
const MIN_REPS = 5

const chains = {
  async crons() {
    const { parseCron } = await importPkg('dist/index.js')
    return () => {
      const schedule = parseCron(expression, zone)
      const out = new Array(count)
      let after = from
      for (let i = 0; i < count; i++) {
        after = schedule.next(after)
        out[i] = after
      }
      return out
    }
  },
  async croner() {
    const { Cron } = await import('croner')
    return () => {
      const dates = new Cron(expression, { timezone: zone }).nextRuns(count, new Date(from))
      return dates.map((d) => d.getTime())
    }
  },
  async 'cron-parser'() {
    const { CronExpressionParser } = await import('cron-parser')
    return () => {
      const it = CronExpressionParser.parse(expression, { currentDate: new Date(from), tz: zone })
      const out = new Array(count)
      for (let i = 0; i < count; i++) out[i] = it.next().getTime()
      return out
    }
  },
  async cron() {
    const { CronTime } = await import('cron')
    return () => {
      const time = new CronTime(expression, zone)
      const out = new Array(count)
      let after = new Date(from)
      for (let i = 0; i < count; i++) {
        const next = time.getNextDateFrom(after, zone)
        out[i] = next.toMillis()
        after = new Date(out[i])
      }
      return out
    }
  },
}

async function main() {
  const make = chains[lib]
  if (!make) throw new Error(`unknown lib ${lib}`)
  const chain = await make()
  let t = performance.now()
  const fires = chain()
  const coldUs = ((performance.now() - t) * 1000) / count
  const perRep = []
  const deadline = performance.now() + budgetMs
  while (perRep.length < maxReps && (perRep.length < MIN_REPS || performance.now() < deadline)) {
    t = performance.now()
    chain()
    perRep.push(((performance.now() - t) * 1000) / count)
  }
  const result = { lib, coldUs, warmUs: median(perRep), reps: perRep.length, fires }
  return result
}

runAsChild(main, (result) => ({ ...result, fires: result.fires.slice(0, 3) }))
