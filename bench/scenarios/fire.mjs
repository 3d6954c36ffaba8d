/**
 * Scenarios A and E (one process): N jobs firing every second for D seconds, with one library.
 *
 * Forked by bench/run.mjs with one JSON argument:
 * { lib, jobs, seconds, stateFile?, verify?, startAt?, returnCounts?, profile? }.
 * Sends back { lateness, cpu, rss, slots, db? } over IPC.
 *
 * Lateness is "job code starts" minus "the instant it was meant for", measured with a sub-millisecond
 * wall clock (performance.timeOrigin + performance.now()):
 * - crons: ctx.scheduledAt (the slot the engine claimed);
 * - node-cron: ctx.date (the slot its runner planned);
 * - croner, cron: the callback gets no slot, so the slot is the second boundary at or before
 *   Date.now() (both check the clock before firing, so they never run before their boundary);
 * - toad-scheduler: interval-based, not wall-clock aligned. Job i's k-th tick is meant for
 *   t0_i + k·1000 ms, t0_i being when the job was added; setInterval re-arms from when it ran, so
 *   its lateness includes the drift it accumulates.
 *
 * Every fire is counted per (job, slot); a slot of the measurement window fired zero or two times
 * is a missed or duplicated fire. For crons with `verify`, the state file is checked too: exactly one
 * `schedule` run row per (job, slot) in the window, all `succeeded`.
 */
import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'
import { runAsChild } from '../lib/fork.mjs'
import { importPkg } from '../lib/pkg.mjs'
import { startProfile } from '../lib/profiler.mjs'
import { max, median, quantile } from '../lib/stats.mjs'

const require = createRequire(import.meta.url)
const options = JSON.parse(process.argv[2])
const { lib, jobs, seconds } = options
/** The window starts this many slots after the scheduler has started (and never before base + 2 s). */
const WARMUP_SLOTS = 2
/** Start-up may take this many slots on a loaded machine before the window has to begin. */
const MAX_START_SLOTS = 30
const TAIL_MS = 2500
/**
 * "After start-up" lateness leaves out the window's slots before this many seconds after the
 * scheduler started: the seconds in which V8 compiles the hot path (see bench/micro/compile-stall.mjs).
 * A figure for reading, the same for every library; the targets use the whole window.
 */
const SETTLED_AFTER_SLOTS = 10

const hires = () => performance.timeOrigin + performance.now()

// Slots are counted from `base` (the first second boundary after the run begins; E's two processes
// first wait for a common start instant). The measurement window is `seconds` consecutive slots
// from WARMUP_SLOTS after the scheduler is running, so a slow start on a loaded machine is never
// counted as missed fires.
let base = 0
let windowFirst = 0
let windowLast = 0
const totalSlots = MAX_START_SLOTS + WARMUP_SLOTS + seconds + 4
const counts = new Uint16Array(jobs * totalSlots)
const lateness = new Float64Array(jobs * totalSlots)
const latenessSlot = new Int16Array(jobs * totalSlots)
let latenessCount = 0
let fires = 0
let outOfRange = 0
let errors = 0
const errorSamples = []

/** Record one fire of job `i` for `slot` (ms; for toad-scheduler a tick index offset). */
function record(i, slot, late) {
  fires++
  const index = Math.round((slot - base) / 1000)
  if (index < 0 || index >= totalSlots) {
    outOfRange++
    return
  }
  counts[i * totalSlots + index]++
  if (latenessCount < lateness.length) {
    latenessSlot[latenessCount] = index
    lateness[latenessCount++] = late
  }
}

/**
 * For libraries whose callback gets no slot (croner, cron): the slot is the second boundary at or
 * before now (both check the clock before firing, so they never run before their boundary).
 */
function recordWallSecond(i) {
  const now = hires()
  const wall = Date.now()
  const slot = wall - (wall % 1000)
  record(i, slot, now - slot)
}

function onError(error) {
  errors++
  if (errorSamples.length < 5) errorSamples.push(String(error?.message ?? error))
}

const adapters = {
  async crons() {
    const { createScheduler } = await importPkg('dist/index.js')
    const defs = []
    for (let i = 0; i < jobs; i++) {
      defs.push({
        name: `job-${i}`,
        schedule: '* * * * * *',
        run: (ctx) => {
          const now = hires()
          const slot = ctx.scheduledAt.getTime()
          record(i, slot, now - slot)
        },
      })
    }
    // As `crons start-scheduler` runs it: precise starts on (an embedding app leaves them off).
    const scheduler = createScheduler({ state: options.stateFile, jobs: defs }, { preciseStart: true })
    scheduler.events.on('engine:error', (e) => onError(`${e.message}: ${e.error?.message ?? e.error}`))
    await scheduler.start()
    return () => scheduler.stop()
  },

  async croner() {
    const { Cron } = await import('croner')
    const all = []
    for (let i = 0; i < jobs; i++) {
      all.push(new Cron('* * * * * *', () => recordWallSecond(i)))
    }
    return () => {
      for (const job of all) job.stop()
    }
  },

  async 'node-cron'() {
    const cron = (await import('node-cron')).default
    const tasks = []
    for (let i = 0; i < jobs; i++) {
      tasks.push(
        cron.schedule(
          '* * * * * *',
          (ctx) => {
            const now = hires()
            const slot = ctx.date.getTime()
            record(i, slot, now - slot)
          },
          { name: `job-${i}` },
        ),
      )
    }
    return async () => {
      for (const task of tasks) await task.destroy()
    }
  },

  async cron() {
    const { CronJob } = await import('cron')
    const all = []
    for (let i = 0; i < jobs; i++) {
      all.push(
        CronJob.from({
          cronTime: '* * * * * *',
          start: true,
          onTick: () => recordWallSecond(i),
        }),
      )
    }
    return () => {
      for (const job of all) job.stop()
    }
  },

  async 'toad-scheduler'() {
    const { ToadScheduler, SimpleIntervalJob, Task } = await import('toad-scheduler')
    const scheduler = new ToadScheduler()
    for (let i = 0; i < jobs; i++) {
      const t0 = hires()
      // Tick k is due at t0 + k·1000 with t0 in (base - 1000, base]: count it in slot base + (k - 1)·1000.
      const task = new Task(`job-${i}`, () => {
        const now = hires()
        const k = Math.round((now - t0) / 1000)
        record(i, base + (k - 1) * 1000, now - (t0 + k * 1000))
      })
      scheduler.addSimpleIntervalJob(new SimpleIntervalJob({ seconds: 1 }, task, { id: `job-${i}` }))
    }
    return () => scheduler.stop()
  },
}

function sampleLoop(samples, until) {
  return new Promise((resolve) => {
    const tick = () => {
      const now = Date.now()
      samples.push({ at: now, cpu: process.cpuUsage(), fires, rss: process.memoryUsage.rss() })
      if (now >= until) return resolve()
      // Half-way between two slots, so each bucket holds exactly one second's fires.
      const next = Math.floor(now / 1000) * 1000 + 1500
      setTimeout(tick, next - Date.now())
    }
    const first = base + 500 - Date.now()
    setTimeout(tick, Math.max(0, first))
  })
}

async function verifyState(file) {
  const Database = require('better-sqlite3')
  const db = new Database(file, { readonly: true })
  try {
    const where = `"trigger" = 'schedule' AND slot >= ? AND slot <= ?`
    const totals = db
      .prepare(`SELECT count(*) AS n, count(DISTINCT job || ':' || slot) AS distinctSlots FROM runs WHERE ${where}`)
      .get(windowFirst, windowLast)
    const statuses = Object.fromEntries(
      db
        .prepare(`SELECT status, count(*) AS n FROM runs WHERE ${where} GROUP BY status`)
        .all(windowFirst, windowLast)
        .map((r) => [r.status, r.n]),
    )
    const claims = db
      .prepare('SELECT count(*) AS n FROM slot_claims WHERE slot >= ? AND slot <= ?')
      .get(windowFirst, windowLast).n
    const instances = db.prepare('SELECT count(*) AS n FROM instances').get().n
    const expected = jobs * seconds
    return {
      expected,
      rows: totals.n,
      missing: expected - totals.distinctSlots,
      duplicated: totals.n - totals.distinctSlots,
      statuses,
      claims,
      instances,
    }
  } finally {
    db.close()
  }
}

async function main() {
  const adapter = adapters[lib]
  if (!adapter) throw new Error(`unknown lib ${lib}`)
  // Starting E's two processes on the same boundary makes their windows line up.
  if (options.startAt) await new Promise((r) => setTimeout(r, Math.max(0, options.startAt - Date.now())))
  base = Math.ceil(Date.now() / 1000) * 1000
  const registerStart = hires()
  const stop = await adapter()
  const registerMs = hires() - registerStart
  const running = Math.ceil(Date.now() / 1000) * 1000
  windowFirst = Math.max(base, running) + WARMUP_SLOTS * 1000
  windowLast = windowFirst + (seconds - 1) * 1000
  const firstIndex = (windowFirst - base) / 1000
  if (firstIndex + seconds + 2 > totalSlots) throw new Error(`start-up took more than ${MAX_START_SLOTS} s`)
  const samples = []
  const stopProfile = await startProfile(options.profile)
  await sampleLoop(samples, windowLast + TAIL_MS)
  await stopProfile()
  await stop()

  // Per-second buckets inside the window: CPU per fire, fires, RSS.
  const perFire = []
  const rssInWindow = []
  for (let k = 1; k < samples.length; k++) {
    const a = samples[k - 1]
    const b = samples[k]
    if (a.at < windowFirst || b.at > windowLast + 1000) continue
    const cpu = (b.cpu.user - a.cpu.user + b.cpu.system - a.cpu.system) / 1000
    const n = b.fires - a.fires
    if (n > 0) perFire.push((cpu * 1000) / n)
    rssInWindow.push(b.rss)
  }
  const first = samples.find((s) => s.at >= windowFirst)
  const last = [...samples].reverse().find((s) => s.at <= windowLast + 1000)
  const totalCpuMs =
    first && last ? (last.cpu.user - first.cpu.user + last.cpu.system - first.cpu.system) / 1000 : Number.NaN
  const totalFires = first && last ? last.fires - first.fires : 0

  let missed = 0
  let duplicated = 0
  for (let i = 0; i < jobs; i++) {
    for (let s = firstIndex; s < firstIndex + seconds; s++) {
      const c = counts[i * totalSlots + s]
      if (c === 0) missed++
      else if (c > 1) duplicated += c - 1
    }
  }
  const late = lateness
    .subarray(0, latenessCount)
    .filter((_, k) => latenessSlot[k] >= firstIndex && latenessSlot[k] < firstIndex + seconds)
  const settledIndex = Math.max(firstIndex, (running - base) / 1000 + SETTLED_AFTER_SLOTS)
  const settled = lateness
    .subarray(0, latenessCount)
    .filter((_, k) => latenessSlot[k] >= settledIndex && latenessSlot[k] < firstIndex + seconds)
  // Each second of the window: how late its first, median and last fire were (what sets the p99).
  const bySecond = Array.from({ length: seconds }, () => [])
  for (let k = 0; k < latenessCount; k++) {
    const s = latenessSlot[k] - firstIndex
    if (s >= 0 && s < seconds) bySecond[s].push(lateness[k])
  }
  const perSecond = bySecond.map((l) =>
    l.length === 0 ? null : { first: Math.min(...l), p50: quantile(l, 0.5), last: max(l) },
  )
  const result = {
    lib,
    jobs,
    seconds,
    perSecond,
    registerMs,
    window: { first: windowFirst, last: windowLast },
    lateness: {
      p50: quantile(late, 0.5),
      p99: quantile(late, 0.99),
      max: max(late),
      min: late.length ? Math.min(...late.subarray(0, Math.min(late.length, 100000))) : Number.NaN,
      n: late.length,
    },
    settled: { p99: quantile(settled, 0.99), n: settled.length },
    cpu: {
      perFireUsMedian: median(perFire),
      perFireUsTotal: totalFires > 0 ? (totalCpuMs * 1000) / totalFires : Number.NaN,
      buckets: perFire.length,
      totalMs: totalCpuMs,
    },
    rss: { medianMB: median(rssInWindow) / 1048576, peakMB: (process.resourceUsage().maxRSS * 1024) / 1048576 },
    slots: { expected: jobs * seconds, missed, duplicated, outOfRange, fires },
    errors,
    errorSamples,
    ownCounts: options.returnCounts ? Buffer.from(counts.buffer).toString('base64') : undefined,
    totalSlots,
    firstIndex,
    base,
  }
  if (options.verify && options.stateFile) result.db = await verifyState(options.stateFile)
  return result
}

runAsChild(main)
