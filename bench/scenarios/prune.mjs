/**
 * Scenario F (one process): pruning history, as a scheduler does it (bounded steps with a turn of
 * the event loop between them), while a probe measures how long the event loop is held.
 *
 *   node bench/scenarios/prune.mjs '{"jobs":1000,"keepRuns":1000,"seconds":3600,"maxMs":20}'
 *
 * Forked by bench/run.mjs with one JSON argument: { jobs, keepRuns, seconds, maxMs, large? }
 * (`seconds: 0` skips the steady case).
 *
 * - steady: a state file holding `keepRuns` + `seconds` runs of each of `jobs` per-second jobs
 *   (one hour of them beyond keepRuns by default), interleaved in id order as a scheduler writes
 *   them, a few still active; pruned to keepRuns.
 * - large (unless `large: false`): the 1,000,000-run file of scenario D (10 jobs, runs 6 s apart
 *   over ~69 days), pruned to the default keepDays 30 / keepRuns 10,000 as at a scheduler's first
 *   start: by the store in steps, then again from a fresh copy by `createScheduler().start()`,
 *   timing how long start() takes.
 *
 * The files are built with direct inserts (schema from the package, indexes dropped during the
 * load). Reported per case: total prune time, steps, rows deleted and rows/s, the longest step,
 * with its CPU time, and the worst event-loop stall seen by a timer probe and by monitorEventLoopDelay.
 *
 * With CRONS_BENCH_PKG pointing at an older build whose prune takes no budget, the whole prune is
 * one call (that call is then the longest step).
 */
import { closeSync, copyFileSync, fsyncSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { runAsChild } from '../lib/fork.mjs'
import { millionRunFile } from '../lib/million.mjs'
import { importPkg } from '../lib/pkg.mjs'

const require = createRequire(import.meta.url)
const options = {
  jobs: 1000,
  keepRuns: 1000,
  seconds: 3600,
  maxMs: 20,
  large: true,
  ...JSON.parse(process.argv[2] ?? '{}'),
}
const dir = mkdtempSync(join(tmpdir(), 'crons-bench-prune-'))

/** `keepRuns + seconds` runs of each job, one a second per job, the newest a minute ago. */
async function steadyFile() {
  const { openStore } = await importPkg('dist/store/index.js')
  const { jobs, keepRuns, seconds } = options
  const names = Array.from({ length: jobs }, (_, i) => `job-${String(i).padStart(4, '0')}`)
  const file = join(dir, 'steady.db')
  const started = performance.now()
  const store = await openStore(file)
  const now = Date.now()
  await store.registerInstance({ id: 'bench-1', role: 'scheduler', host: 'bench', pid: 4242, now })
  await store.syncJobs(names, now)
  await store.close()

  const Database = require('better-sqlite3')
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = OFF')
  const indexes = db
    .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'runs' AND sql IS NOT NULL")
    .all()
  const insert = db.prepare(
    `INSERT INTO runs (id, job, slot, "trigger", attempt, status, started_at, finished_at, duration_ms,
       instance_id, active, prev_id)
     VALUES (?, ?, ?, 'schedule', 1, ?, ?, ?, ?, 'bench-1', ?, ?)`,
  )
  const total = keepRuns + seconds
  const first = now - 60_000 - total * 1000
  let id = 0
  db.transaction(() => {
    for (const { name } of indexes) db.exec(`DROP INDEX "${name}"`)
    for (let s = 0; s < total; s++) {
      const slot = first + s * 1000
      for (let j = 0; j < jobs; j++) {
        id++
        // A few runs stay active (a hung job): pruning must keep them and link them into the chain.
        const active = id % 100_003 === 0 ? 1 : 0
        const status = active ? 'running' : id % 50 === 0 ? 'failed' : 'succeeded'
        const finished = active ? null : slot + 7
        insert.run(id, names[j], slot, status, slot, finished, active ? null : 7, active, s > 0 ? id - jobs : null)
      }
    }
    for (const { sql } of indexes) db.exec(sql)
    const head = db.prepare('UPDATE jobs SET last_run_id = ?, last_slot = ? WHERE name = ?')
    for (let j = 0; j < jobs; j++) head.run(id - jobs + 1 + j, first + (total - 1) * 1000, names[j])
    db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'runs'").run(id)
  })()
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
  // Built with synchronous OFF, the file's hundreds of megabytes are still dirty in the OS page
  // cache; the store's first checkpoint would wait for all of them to reach the disk. A scheduler's
  // history was written over an hour, long flushed by then: so is this file before it is measured.
  syncToDisk(file)
  return { file, rows: id, buildMs: performance.now() - started }
}

/** Write a file's pages still in the OS page cache to the disk. */
function syncToDisk(file) {
  const fd = openSync(file, 'r+')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Watch the event loop: the longest gap between timer callbacks, and Node's own delay histogram. */
function watchLoop() {
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  let last = performance.now()
  let worst = 0
  let timer
  const probe = () => {
    const at = performance.now()
    worst = Math.max(worst, at - last)
    last = at
    timer = setTimeout(probe, 1)
  }
  timer = setTimeout(probe, 1)
  return () => {
    clearTimeout(timer)
    histogram.disable()
    return { worstGapMs: Math.max(worst, performance.now() - last), loopDelayMaxMs: histogram.max / 1e6 }
  }
}

/**
 * Time spent walking chains to the keepRuns boundaries (a read, before anything is deleted): the
 * statement of the store's history module, timed where it is called.
 */
const walks = { ms: 0, statements: 0 }
let walksTimed = false

async function timeWalks() {
  walks.ms = 0
  walks.statements = 0
  if (walksTimed) return
  walksTimed = true
  const { RunHistory } = await importPkg('dist/store/sqlite/history.js')
  const walk = RunHistory.prototype.chainStep
  RunHistory.prototype.chainStep = function (...args) {
    const t = performance.now()
    try {
      return walk.apply(this, args)
    } finally {
      walks.ms += performance.now() - t
      walks.statements++
    }
  }
}

/** Prune as a scheduler does: steps of `maxMs` with a turn of the event loop between. */
async function pruneInSteps(file, history) {
  const { openStore } = await importPkg('dist/store/index.js')
  await timeWalks()
  const store = await openStore(file)
  const now = Date.now()
  const stop = watchLoop()
  const began = performance.now()
  let deleted = 0
  let steps = 0
  let longestStepMs = 0
  let longestStepCpuMs = 0
  const slow = []
  for (;;) {
    const t = performance.now()
    const cpu = process.cpuUsage()
    const step = await store.prune(now, history, { maxMs: options.maxMs })
    const wall = performance.now() - t
    const used = process.cpuUsage(cpu)
    const cpuMs = (used.user + used.system) / 1000
    longestStepMs = Math.max(longestStepMs, wall)
    longestStepCpuMs = Math.max(longestStepCpuMs, cpuMs)
    if (wall > 50) slow.push({ step: steps, wallMs: Math.round(wall), cpuMs: Math.round(cpuMs) })
    steps++
    if (typeof step === 'number') {
      deleted += step
      break
    }
    deleted += step.deleted
    if (step.done) break
    await nextTurn()
  }
  const totalMs = performance.now() - began
  const loop = stop()
  await store.close()
  return {
    totalMs,
    steps,
    deleted,
    rowsPerS: deleted / (totalMs / 1000),
    longestStepMs,
    longestStepCpuMs,
    // Steps over 50 ms of wall time, with their CPU time: a step far longer than its CPU time was
    // waiting (for the disk, or for a core on a busy machine), not working.
    slowSteps: slow.slice(0, 20),
    slowStepCount: slow.length,
    walkMs: walks.ms,
    walkStatements: walks.statements,
    ...loop,
  }
}

/** A scheduler's first start on the file: how long start() takes, and the loop meanwhile. */
async function startOn(file) {
  const { createScheduler } = await importPkg('dist/index.js')
  const jobs = Array.from({ length: 10 }, (_, i) => ({ name: `job-0${i}`, schedule: '0 0 1 1 *', run() {} }))
  const scheduler = createScheduler({ state: file, jobs })
  const stop = watchLoop()
  const began = performance.now()
  await scheduler.start()
  const startMs = performance.now() - began
  const loop = stop()
  await scheduler.stop()
  return { startMs, ...loop }
}

async function main() {
  const result = { options }
  try {
    if (options.seconds > 0) {
      const steady = await steadyFile()
      result.steady = {
        rows: steady.rows,
        buildMs: steady.buildMs,
        ...(await pruneInSteps(steady.file, { keepDays: 30, keepRuns: options.keepRuns })),
      }
      rmSync(steady.file, { force: true })
    }
    if (options.large) {
      const million = await millionRunFile()
      const copy = join(dir, 'large.db')
      // Each copy is written to the disk before it is measured, as the state file of a scheduler
      // starting after a restart has long been.
      copyFileSync(million.file, copy)
      syncToDisk(copy)
      result.large = { rows: 1_000_000, ...(await pruneInSteps(copy, { keepDays: 30, keepRuns: 10_000 })) }
      copyFileSync(million.file, copy)
      for (const suffix of ['-wal', '-shm']) rmSync(copy + suffix, { force: true })
      syncToDisk(copy)
      result.start = await startOn(copy)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return result
}

runAsChild(main)
