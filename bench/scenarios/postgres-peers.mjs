/**
 * crons against graphile-worker's crontab and pg-boss's `schedule()` on one PostgreSQL: the same
 * 1,000 jobs due every minute, served by 4 processes of each library in turn (each in a schema of
 * its own on the same server). Minutes, because graphile-worker's crontab has no seconds.
 *
 *   npm run build && node bench/scenarios/postgres-peers.mjs [--jobs 1000] [--processes 4] [--only crons,pg-boss]
 *
 * For each library: its processes start, one after the other; the first minute instant at least 5 s
 * after they all serve is the warm-up, the next one is measured. Reports, for the measured instant,
 * the start delay of each job after the instant (p50/p99/max), (job, instant) pairs run twice or not
 * at all, statements sent per job served (every `pg` query of every process counted, from 1 s before
 * the instant until its runs are over), and statements per second per process in the 39 s before it
 * (idle: nothing is due, for crons and graphile-worker; pg-boss may still be forwarding the warm-up
 * minute's jobs then); the warm-up instant's delays are reported apart (the first instant after a
 * start). The load average of the machine before and after each library is recorded.
 *
 * The peers are installed on demand into bench/peers/node_modules (`npm install --prefix
 * bench/peers`), never into the project. Results: stdout and bench/results/postgres-peers.json.
 */
import { execFileSync, fork } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import { loadavg } from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { runAsChild } from '../lib/fork.mjs'
import { serverUrl, withClient } from '../lib/pg-server.mjs'
import { max, median, quantile } from '../lib/stats.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const REPO = path.resolve(HERE, '../..')
const PEERS = path.join(REPO, 'bench/peers')
const MINUTE = 60_000
const argv = process.argv.slice(2)
const option = (name, fallback) => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : fallback
}
/** How long after the measured instant each library's runs are waited for. */
const DRAIN_MS = { crons: 10_000, 'graphile-worker': 20_000, 'pg-boss': 50_000 }
const LIBRARIES = Object.keys(DRAIN_MS)
/** The idle window ends 1 s before the measured instant: 39 s, so that it holds several heartbeats. */
const IDLE_MS = 39_000

if (argv[0] === '--worker') await worker(JSON.parse(argv[1]))
else if (argv[0]?.startsWith('{')) {
  // Forked by bench/run.mjs (scenario G): options as JSON, the report back over IPC, then exit (the
  // server's and the peers' handles would keep the process alive until the scenario's timeout).
  const options = JSON.parse(argv[0])
  runAsChild(() => main(options))
} else {
  const only = option('--only', LIBRARIES.join(',')).split(',')
  await main({ jobs: Number(option('--jobs', 1000)), processes: Number(option('--processes', 4)), only })
}

async function main({ jobs, processes, only = LIBRARIES }) {
  const log = (line) => process.stderr.write(`${line}\n`)
  if (only.some((name) => name !== 'crons')) installPeers(log)
  const server = await serverUrl()
  const results = {}
  try {
    for (const library of LIBRARIES.filter((name) => only.includes(name))) {
      const url = new URL(server.url)
      url.searchParams.set('schema', `peers_${library.replace(/\W/g, '_')}_${Date.now().toString(36)}`)
      log(`postgres peers: ${library}, ${jobs} jobs every minute, ${processes} processes`)
      const loadBefore = loadavg()
      results[library] = await measure(library, url, jobs, processes, log)
      results[library].loadAverage = { before: rounded(loadBefore), after: rounded(loadavg()) }
      log(JSON.stringify(results[library]))
    }
  } finally {
    await server.stop()
  }
  const versions = Object.fromEntries(only.filter((name) => name !== 'crons').map((name) => [name, peerVersion(name)]))
  const report = { jobs, processes, at: new Date().toISOString(), node: process.version, versions, results }
  console.log(JSON.stringify(report, null, 2))
  fs.mkdirSync(path.join(REPO, 'bench/results'), { recursive: true })
  fs.writeFileSync(path.join(REPO, 'bench/results/postgres-peers.json'), `${JSON.stringify(report, null, 2)}\n`)
  return report
}

function peerVersion(name) {
  return JSON.parse(fs.readFileSync(path.join(PEERS, 'node_modules', name, 'package.json'), 'utf8')).version
}

/** The peers' packages, installed beside the bench (never in the project's own node_modules). */
function installPeers(log) {
  const require = createRequire(path.join(PEERS, 'package.json'))
  try {
    require.resolve('graphile-worker')
    require.resolve('pg-boss')
    return
  } catch {}
  log('installing the peers into bench/peers (npm install --prefix bench/peers)')
  execFileSync('npm', ['install', '--prefix', PEERS, '--no-audit', '--no-fund', '--no-save'], { stdio: 'inherit' })
}

async function measure(library, url, jobs, processes, log) {
  const workers = []
  const reply = (child, type) =>
    new Promise((resolve, reject) => {
      child.on('message', (message) => message.type === type && resolve(message))
      child.on('exit', (code) => reject(new Error(`a ${library} worker exited (${code}) before "${type}"`)))
    })
  // One after the other: the first sets up the schema (and, for pg-boss, the queues and schedules).
  for (let id = 0; id < processes; id++) {
    const child = fork(
      fileURLToPath(import.meta.url),
      ['--worker', JSON.stringify({ library, url: `${url}`, jobs, id })],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    )
    workers.push(child)
    await reply(child, 'ready')
  }
  const warm = Math.ceil((Date.now() + 5000) / MINUTE) * MINUTE
  const measured = warm + MINUTE
  log(`  warm-up instant ${new Date(warm).toISOString()}, measured ${new Date(measured).toISOString()}`)
  for (const child of workers) child.send({ type: 'window', warm, measured, drainMs: DRAIN_MS[library] })
  const done = await Promise.all(workers.map((child) => reply(child, 'done')))
  // No process of this library may outlive its turn (and poll the next library's server).
  await new Promise((resolve) => setTimeout(resolve, 3000))
  for (const child of workers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  const runs = done.flatMap((d) => d.runs)
  const at = (slot) => runs.filter((r) => r.slot === slot)
  const count = (list) => {
    const seen = new Map()
    for (const r of list) seen.set(r.job, (seen.get(r.job) ?? 0) + 1)
    return {
      duplicates: [...seen.values()].filter((n) => n > 1).length,
      missed: jobs - seen.size,
    }
  }
  const delays = at(measured).map((r) => r.delay)
  const warmDelays = at(warm).map((r) => r.delay)
  const result = {
    runs: delays.length,
    ...count(at(measured)),
    startDelayMs: { p50: median(delays), p99: quantile(delays, 0.99), max: max(delays) },
    firstInstantAfterStart: { runs: warmDelays.length, p50: median(warmDelays), p99: quantile(warmDelays, 0.99) },
    statementsPerJob: done.reduce((sum, d) => sum + d.statements, 0) / Math.max(1, delays.length),
    idleStatementsPerSecond: done.reduce((sum, d) => sum + d.idleStatementsPerSecond, 0) / processes,
  }
  if (library === 'crons') {
    const { rows } = await withClient(url, (client) =>
      client.query(
        `SELECT count(*)::int AS n FROM (SELECT job, slot FROM runs GROUP BY job, slot HAVING count(*) > 1) d`,
      ),
    )
    result.duplicateRowsInStore = rows[0].n
  }
  await withClient(new URL(url), (client) =>
    client.query(`DROP SCHEMA IF EXISTS "${url.searchParams.get('schema')}" CASCADE`),
  ).catch(() => undefined)
  return result
}

/** One process of one library: counts every statement its `pg` sends, and when each job starts. */
async function worker({ library, url, jobs, id }) {
  const { pg, start } = await starter(library)
  let statements = 0
  const query = pg.Client.prototype.query
  pg.Client.prototype.query = function counted(...args) {
    statements++
    return query.apply(this, args)
  }
  const runs = []
  const ran = (job, slot) => runs.push({ job, slot, delay: Date.now() - slot })
  const stop = await start({ url: new URL(url), jobs, id, ran })
  process.send({ type: 'ready' })
  process.on('message', async (message) => {
    if (message.type !== 'window') return
    const { warm, measured, drainMs } = message
    await sleepUntil(measured - IDLE_MS - 1000)
    const idleFrom = statements
    await sleepUntil(measured - 1000)
    const idleStatementsPerSecond = (statements - idleFrom) / (IDLE_MS / 1000)
    const before = statements
    await sleepUntil(measured + drainMs)
    const during = statements - before
    await stop()
    process.send({
      type: 'done',
      runs: runs.filter((r) => r.slot === warm || r.slot === measured),
      statements: during,
      idleStatementsPerSecond,
    })
    process.disconnect()
    // pg-boss leaves timers behind after stop(): a process that does not end by itself is ended.
    setTimeout(() => process.exit(0), 2000).unref()
  })
}

/** How each library is started, as its documentation shows, with `jobs` jobs due every minute. */
async function starter(library) {
  if (library === 'crons') {
    const { default: pg } = await import('pg')
    return {
      pg,
      start: async ({ url, jobs, ran }) => {
        const { createScheduler } = await import(path.join(REPO, 'dist/index.js'))
        const scheduler = createScheduler({
          state: url.toString(),
          timezone: 'UTC',
          jobs: Array.from({ length: jobs }, (_, i) => ({
            name: `job-${i}`,
            schedule: '* * * * *',
            run: (ctx) => ran(i, ctx.scheduledAt.getTime()),
          })),
        })
        await scheduler.start()
        return () => scheduler.stop()
      },
    }
  }
  const peer = (name) => import(pathToFileURL(createRequire(path.join(PEERS, 'package.json')).resolve(name)).href)
  const { default: pg } = await peer('pg')
  if (library === 'graphile-worker') {
    const { run, Logger } = await peer('graphile-worker')
    return {
      pg,
      start: async ({ url, jobs, ran }) => {
        const schema = url.searchParams.get('schema')
        url.searchParams.delete('schema')
        const runner = await run({
          connectionString: url.toString(),
          schema,
          noHandleSignals: true,
          logger: new Logger(() => () => undefined),
          crontab: Array.from({ length: jobs }, (_, i) => `* * * * * tick ?id=job-${i} {"i":${i}}`).join('\n'),
          taskList: {
            tick: async (payload) => ran(payload.i, Date.parse(payload._cron.ts)),
          },
        })
        return () => runner.stop()
      },
    }
  }
  const { default: PgBoss } = await peer('pg-boss')
  // pg-boss's scheduled jobs do not say which minute they were sent for, and they may start a minute
  // or more after it: its cron check (which decides that a schedule is due) is patched to add the
  // minute it sends for to the job's data. Measurement only; what pg-boss does is unchanged.
  const { default: Timekeeper } = await peer('pg-boss/src/timekeeper.js')
  const cron = Timekeeper.prototype.cron
  Timekeeper.prototype.cron = async function sendWithSlot(...args) {
    const insert = this.manager.insert
    const slot = Math.floor((Date.now() + this.clockSkew) / MINUTE) * MINUTE
    this.manager.insert = (jobs, ...rest) =>
      insert.call(
        this.manager,
        jobs.map((job) => ({ ...job, data: { ...job.data, data: { ...job.data.data, slot } } })),
        ...rest,
      )
    try {
      return await cron.apply(this, args)
    } finally {
      this.manager.insert = insert
    }
  }
  return {
    pg,
    start: async ({ url, jobs, id, ran }) => {
      const schema = url.searchParams.get('schema')
      url.searchParams.delete('schema')
      const boss = new PgBoss({ connectionString: url.toString(), schema })
      boss.on('error', () => undefined)
      await boss.start()
      const names = Array.from({ length: jobs }, (_, i) => `job-${i}`)
      if (id === 0) {
        for (const name of names) {
          await boss.createQueue(name)
          await boss.schedule(name, '* * * * *', { i: Number(name.slice(4)) }, { tz: 'UTC' })
        }
      }
      for (const [i, name] of names.entries()) {
        await boss.work(name, async ([job]) => ran(i, job.data.slot))
      }
      return () => boss.stop({ graceful: true, wait: true })
    },
  }
}

function sleepUntil(at) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())))
}

function rounded(loads) {
  return loads.map((l) => Number(l.toFixed(2)))
}
