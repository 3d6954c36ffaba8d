/**
 * Scenario B (one process): register 10,000 once-a-minute jobs with varied expressions, then idle.
 *
 * Forked by bench/run.mjs (with --expose-gc) with one JSON argument:
 * { lib, variant?, jobs, idleSeconds, excludeHours, stateFile?, profileRegister?, profileIdle?, heapSnapshot?,
 * schedulerOptions? }.
 *
 * - register: from before the first job is created to when the scheduler is running (crons:
 *   createScheduler + start(), which opens the store, records 10,000 jobs and computes their next
 *   slots; the peers: create and start each job). The library is imported before the clock starts.
 * - idle CPU: process.cpuUsage() over the idle window, no job due in it (the hours of the window
 *   are left out of every expression, so this is the cost of waiting, not of firing).
 * - heap: heapUsed after forced GC, at the end of the window, and its growth over the heap measured
 *   right after importing the library (what the 10,000 jobs and the scheduler retain).
 */
import { performance } from 'node:perf_hooks'
import { writeHeapSnapshot } from 'node:v8'
import { runAsChild } from '../lib/fork.mjs'
import { importPkg } from '../lib/pkg.mjs'
import { startProfile } from '../lib/profiler.mjs'
import { MB, settleHeap } from '../lib/stats.mjs'
import { threadCpu, threadCpuDelta } from '../lib/threads.mjs'

const options = JSON.parse(process.argv[2])
const { lib, jobs, idleSeconds } = options
const exclude = new Set(options.excludeHours ?? [])
const DAYS_OF_WEEK = ['*', '1-5', '0,6', '1,3,5', '2,4', 'MON-SAT', 'SUN']

/** Job i: minute i % 60, two or three hours (never an excluded one), a day-of-week list. */
export function expression(i) {
  const hours = [...new Set([(i * 7) % 24, (i * 7 + 5) % 24, (i * 11 + 13) % 24])]
    .filter((h) => !exclude.has(h))
    .slice(0, 2 + (i % 2))
    .sort((a, b) => a - b)
  if (hours.length === 0) hours.push([...Array(24).keys()].find((h) => !exclude.has(h)))
  return `${i % 60} ${hours.join(',')} * * ${DAYS_OF_WEEK[i % DAYS_OF_WEEK.length]}`
}

let fires = 0
const onFire = () => {
  fires++
}

const adapters = {
  async crons() {
    const { createScheduler } = await importPkg('dist/index.js')
    return async () => {
      const defs = []
      for (let i = 0; i < jobs; i++) defs.push({ name: `job-${i}`, schedule: expression(i), run: onFire })
      // schedulerOptions is for diagnosis only (e.g. a longer heartbeat, to see what idle CPU is made of).
      const scheduler = createScheduler({ state: options.stateFile, jobs: defs }, options.schedulerOptions)
      await scheduler.start()
      return () => scheduler.stop()
    }
  },
  async 'node-cron'() {
    const cron = (await import('node-cron')).default
    return async () => {
      const tasks = []
      for (let i = 0; i < jobs; i++) tasks.push(cron.schedule(expression(i), onFire, { name: `job-${i}` }))
      return async () => {
        for (const task of tasks) await task.destroy()
      }
    }
  },
  async croner() {
    const { Cron } = await import('croner')
    return async () => {
      const all = []
      for (let i = 0; i < jobs; i++) all.push(new Cron(expression(i), onFire))
      return () => {
        for (const job of all) job.stop()
      }
    }
  },
  async cron() {
    const { CronJob } = await import('cron')
    return async () => {
      const all = []
      for (let i = 0; i < jobs; i++) all.push(CronJob.from({ cronTime: expression(i), onTick: onFire, start: true }))
      return () => {
        for (const job of all) job.stop()
      }
    }
  },
}

async function main() {
  const prepare = adapters[lib]
  if (!prepare) throw new Error(`unknown lib ${lib}`)
  const importStart = performance.now()
  const register = await prepare()
  const importMs = performance.now() - importStart
  const heapBefore = settleHeap()

  const stopRegisterProfile = await startProfile(options.profileRegister)
  const t0 = performance.now()
  const stop = await register()
  const registerMs = performance.now() - t0
  await stopRegisterProfile()

  const result = { lib, variant: options.variant ?? lib, jobs, importMs, registerMs, heapBeforeMB: heapBefore / MB }
  if (idleSeconds > 0) {
    // Let start-up work (timers armed in the same turn, pruning, V8's background compiling and
    // sweeping after registration) settle before the window opens.
    await new Promise((r) => setTimeout(r, 2000))
    settleHeap()
    const stopIdleProfile = await startProfile(options.profileIdle)
    const threads0 = threadCpu()
    const cpu0 = process.cpuUsage()
    const w0 = performance.now()
    // CPU per tenth of the window: tells a one-off burst (GC after registration) from periodic work.
    const slices = []
    let last = cpu0
    for (let k = 0; k < 10; k++) {
      await new Promise((r) => setTimeout(r, idleSeconds * 100))
      const now = process.cpuUsage()
      slices.push(Math.round((now.user - last.user + now.system - last.system) / 100) / 10)
      last = now
    }
    const cpu = process.cpuUsage(cpu0)
    const threads = threadCpuDelta(threads0, threadCpu())
    await stopIdleProfile()
    const wallMs = performance.now() - w0
    const heapAfter = settleHeap()
    Object.assign(result, {
      idleCpuMs: (cpu.user + cpu.system) / 1000,
      idleWallMs: wallMs,
      idleThreads: threads,
      idleCpuSlices: slices,
      idleCpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
      heapMB: heapAfter / MB,
      heapDeltaMB: (heapAfter - heapBefore) / MB,
      rssMB: process.memoryUsage.rss() / MB,
      fires,
    })
  }
  if (options.heapSnapshot) writeHeapSnapshot(options.heapSnapshot)
  await stop()
  return result
}

runAsChild(main)
