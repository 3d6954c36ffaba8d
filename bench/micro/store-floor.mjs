/**
 * What SQLite itself costs per fire on the crons schema, without the store's JavaScript around it:
 * the floor under scenario A's "CPU per fire". The schema comes from the package (openStore); the
 * statements below restate the store's claim and finish queries for measurement only.
 *
 *   node bench/micro/store-floor.mjs            # 20 rounds of 1,000 slots
 *   node bench/micro/store-floor.mjs 500        # the same after 500 rounds (500,000 runs) of history
 *
 * Prints µs per row for each claim statement (the two reads a claim batch does once are spread over
 * its 1,000 rows), for an outcome written in its own BEGIN IMMEDIATE … COMMIT and for the same
 * outcomes written 1,000 per transaction (what `finishRun` does: one transaction per turn).
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
const HISTORY_ROUNDS = Number(process.argv[2] ?? 0)

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
  pausedJobs: db.prepare('SELECT name FROM jobs WHERE paused = 1').pluck(),
  activeHolders: db.prepare('SELECT job, id, instance_id, started_at FROM runs WHERE active = 1 ORDER BY +id'),
  claimSlot: db.prepare('INSERT OR IGNORE INTO slot_claims (slot, job) VALUES (?, ?)'),
  insertRun: db.prepare(
    `INSERT INTO runs (job, slot, "trigger", attempt, status, started_at, finished_at, detail, instance_id, active, prev_id)
     VALUES (?, ?, 'schedule', 1, 'running', ?, NULL, NULL, 'bench', 1, (SELECT last_run_id FROM jobs WHERE name = ?))`,
  ),
  linkClaim: db.prepare('UPDATE jobs SET last_run_id = ?, last_slot = max(coalesce(last_slot, ?), ?) WHERE name = ?'),
  finishRun: db.prepare(
    `UPDATE runs SET status = 'succeeded', finished_at = ?, duration_ms = max(0, ? - started_at), error_message = NULL,
     error_stack = NULL, result = NULL, output = '[]', active = 0 WHERE id = ?`,
  ),
}
const begin = db.prepare('BEGIN IMMEDIATE')
const commit = db.prepare('COMMIT')

let slot = 1_800_000_000_000
/** One claim batch and its outcomes; with `t`, each statement's time is added to it. */
function round(t) {
  slot += 1000
  const ids = []
  let a = performance.now()
  let b = a
  const lap = (key) => {
    b = performance.now()
    if (t) t[key] += b - a
    a = b
  }
  begin.run()
  lap('commit')
  s.pausedJobs.all()
  s.activeHolders.all()
  lap('batchReads')
  for (const job of names) {
    s.claimSlot.run(slot, job)
    lap('claimSlot')
    const id = s.insertRun.run(job, slot, slot, job).lastInsertRowid
    lap('insertRun')
    s.linkClaim.run(id, slot, slot, job)
    lap('linkClaim')
    ids.push(id)
  }
  commit.run()
  lap('commit')
  if (!t) {
    db.transaction(() => {
      for (const id of ids) s.finishRun.run(slot + 5, slot + 5, id)
    }).immediate()
    return
  }
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

for (let r = 0; r < HISTORY_ROUNDS; r++) round(undefined)
const t = { batchReads: 0, claimSlot: 0, insertRun: 0, linkClaim: 0, commit: 0, finishOwnTx: 0, finishBatched: 0 }
for (let r = 0; r < ROUNDS; r++) round(t)
db.close()
rmSync(dir, { recursive: true, force: true })
const per = (ms) => ((ms / ROUNDS / JOBS) * 1000).toFixed(1)
const claimTotal = t.batchReads + t.claimSlot + t.insertRun + t.linkClaim + t.commit
console.log(`µs per row after ${HISTORY_ROUNDS * JOBS} runs of history (the machine is shared and noisy: run it twice)`)
console.log(
  `claim: paused + holders once per batch ${per(t.batchReads)}, INSERT slot_claims ${per(t.claimSlot)}, ` +
    `INSERT runs ${per(t.insertRun)}, UPDATE jobs ${per(t.linkClaim)}, BEGIN + COMMIT ${per(t.commit)}: ` +
    `${per(claimTotal)} in all`,
)
console.log(
  `outcome UPDATE in its own transaction ${per(t.finishOwnTx)}, the same 1,000 per transaction ${per(t.finishBatched)}`,
)
