/**
 * What SQLite itself costs per fire on the crons schema, without the store's JavaScript around it:
 * the floor under scenario A's "CPU per fire". The schema comes from the package (openStore); the
 * statements below restate the store's claim and finish queries for measurement only.
 *
 *   node bench/micro/store-floor.mjs            # 20 rounds of 1,000 slots
 *
 * Prints µs per row for each claim statement, for an outcome written in its own BEGIN IMMEDIATE …
 * COMMIT (what `finishRun` does today) and for the same outcomes written 1,000 per transaction.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { importPkg } from '../lib/pkg.mjs'

const require = createRequire(import.meta.url)
const Database = require('better-sqlite3')
const ROUNDS = 20
const JOBS = 1000

const dir = mkdtempSync(join(tmpdir(), 'crons-floor-'))
const file = join(dir, 'state.db')
const { openStore } = await importPkg('dist/store/index.js')
await (await openStore(file)).close()

const db = new Database(file)
db.pragma('synchronous = NORMAL')
const names = Array.from({ length: JOBS }, (_, i) => `job-${i}`)
const seeJob = db.prepare(
  'INSERT INTO jobs (name, last_slot, paused, created_at, seen_at) VALUES (?, NULL, 0, 0, 0) ON CONFLICT (name) DO NOTHING',
)
db.transaction(() => {
  for (const n of names) seeJob.run(n)
})()
const s = {
  claimSlot: db.prepare('INSERT OR IGNORE INTO slot_claims (job, slot) VALUES (?, ?)'),
  serveSlot: db.prepare(
    `INSERT INTO jobs (name, last_slot, paused, created_at, seen_at) VALUES (?, ?, 0, ?, ?)
     ON CONFLICT (name) DO UPDATE SET last_slot = max(coalesce(last_slot, excluded.last_slot), excluded.last_slot)
     RETURNING paused`,
  ),
  holder: db.prepare(
    `SELECT r.id, r.instance_id, r.started_at, i.host, i.pid FROM runs r LEFT JOIN instances i ON i.id = r.instance_id
     WHERE r.job = ? AND r.active = 1 ORDER BY r.id LIMIT 1`,
  ),
  insertRun: db.prepare(
    `INSERT INTO runs (job, slot, "trigger", attempt, status, started_at, finished_at, detail, instance_id, active)
     VALUES (?, ?, 'schedule', 1, 'running', ?, NULL, NULL, 'bench', 1)`,
  ),
  finishRun: db.prepare(
    `UPDATE runs SET status = 'succeeded', finished_at = ?, duration_ms = max(0, ? - started_at), error_message = NULL,
     error_stack = NULL, result = NULL, output = '[]', active = 0 WHERE id = ?`,
  ),
}
const begin = db.prepare('BEGIN IMMEDIATE')
const commit = db.prepare('COMMIT')
const t = { claimSlot: 0, serveSlot: 0, holder: 0, insertRun: 0, commit: 0, finishOwnTx: 0, finishBatched: 0 }
let slot = 1_800_000_000_000
for (let round = 0; round < ROUNDS; round++) {
  slot += 1000
  const ids = []
  begin.run()
  for (const job of names) {
    let a = performance.now()
    s.claimSlot.run(job, slot)
    let b = performance.now()
    t.claimSlot += b - a
    a = b
    s.serveSlot.get(job, slot, slot, slot)
    b = performance.now()
    t.serveSlot += b - a
    a = b
    s.holder.get(job)
    b = performance.now()
    t.holder += b - a
    a = b
    ids.push(s.insertRun.run(job, slot, slot).lastInsertRowid)
    t.insertRun += performance.now() - a
  }
  let a = performance.now()
  commit.run()
  t.commit += performance.now() - a
  const half = ids.length / 2
  a = performance.now()
  for (const id of ids.slice(0, half)) db.transaction(() => s.finishRun.run(slot + 5, slot + 5, id)).immediate()
  t.finishOwnTx += ((performance.now() - a) * JOBS) / half
  a = performance.now()
  db.transaction(() => {
    for (const id of ids.slice(half)) s.finishRun.run(slot + 5, slot + 5, id)
  }).immediate()
  t.finishBatched += ((performance.now() - a) * JOBS) / half
}
db.close()
rmSync(dir, { recursive: true, force: true })
const per = (ms) => ((ms / ROUNDS / JOBS) * 1000).toFixed(1)
console.log('µs per row (the machine is shared and noisy: run it twice)')
console.log(
  `claim: INSERT slot_claims ${per(t.claimSlot)}, upsert jobs RETURNING ${per(t.serveSlot)}, holder ${per(t.holder)},`,
)
console.log(`       INSERT runs ${per(t.insertRun)}, COMMIT of 1,000 claims ${per(t.commit)}`)
console.log(
  `outcome UPDATE in its own transaction ${per(t.finishOwnTx)}, the same 1,000 per transaction ${per(t.finishBatched)}`,
)
