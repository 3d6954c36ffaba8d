/**
 * What SQLite itself costs per fire on the crons schema, without the store's JavaScript around it:
 * the floor under scenario A's "CPU per fire". The schema and the statements are the package's own
 * (openStore, prepareStatements), driven here both as one statement per row and as one statement per
 * group of rows sharing every column but the job or id (what the store does for a batch of 1,000 jobs
 * due at the same instant).
 *
 *   node bench/micro/store-floor.mjs            # 20 rounds of 1,000 slots
 *   node bench/micro/store-floor.mjs 500        # the same after 500 rounds (500,000 runs) of history
 *
 * Prints µs per row for each claim statement (the two reads a claim batch does once are spread over
 * its 1,000 rows) and for the outcomes, written 1,000 per transaction as the store does.
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
// The store's own statements, as prepared for every connection: no SQL restated here.
const { prepareStatements } = await importPkg('dist/store/sqlite/statements.js')
const s = prepareStatements(db)
/** A new run's parameters, as the store builds them (one object literal per row or group). */
const run = (slot, job, jobs) => ({
  job,
  jobs,
  slot,
  trigger: 'schedule',
  attempt: 1,
  status: 'running',
  startedAt: slot,
  finishedAt: null,
  detail: null,
  instanceId: 'bench',
  active: 1,
})
/** An outcome's parameters, as the store's finishRun builds them. */
const done = (at, id, ids) => ({
  id,
  ids,
  status: 'succeeded',
  finishedAt: at,
  errorMessage: null,
  errorStack: null,
  result: null,
  output: null,
  detail: null,
  active: 0,
})
const begin = db.prepare('BEGIN IMMEDIATE')
const commit = db.prepare('COMMIT')

/** The claim statements of one batch, per row: the run ids. */
function claimPerRow(slot, lap) {
  const ids = []
  for (const job of names) {
    s.claimSlot.run(slot, job)
    lap('guard')
    const id = Number(s.insertRun.run(run(slot, job, '')).lastInsertRowid)
    lap('insert')
    s.linkClaim.run(id, slot, slot, job)
    lap('link')
    ids.push(id)
  }
  return ids
}

/** The same batch as one group. */
function claimGrouped(slot, lap) {
  // A slot nobody has claimed yet: every job wins, and the insert need not say which.
  const won = names
  if (s.slotClaimed.get(slot) === undefined) s.claimFreeSlot.run({ slot, jobs: JSON.stringify(won) })
  lap('guard')
  const last = Number(s.insertRuns.run(run(slot, '', JSON.stringify(won))).lastInsertRowid)
  lap('insert')
  s.linkClaims.run({ first: last - won.length + 1, last })
  lap('link')
  return Array.from({ length: won.length }, (_, i) => last - won.length + 1 + i)
}

let slot = 1_800_000_000_000
/** One claim batch and its outcomes, each in its own transaction; with `t`, each step's time is added to it. */
function round(grouped, t) {
  slot += 1000
  let a = performance.now()
  const lap = (key) => {
    const b = performance.now()
    if (t) t[key] += b - a
    a = b
  }
  begin.run()
  lap('commit')
  s.pausedJobs.all()
  s.activeHolders.all()
  lap('reads')
  const ids = (grouped ? claimGrouped : claimPerRow)(slot, lap)
  commit.run()
  lap('commit')
  const at = slot + 5
  begin.run()
  // The runs of one batch have consecutive ids: the store writes their common outcome as one id range.
  if (grouped) s.finishRange.run({ ...done(at, 0, ''), first: ids[0], last: ids[ids.length - 1] })
  else for (const id of ids) s.finishRun.run(done(at, id, ''))
  commit.run()
  lap('outcome')
}

for (let r = 0; r < HISTORY_ROUNDS; r++) round(r % 2 === 0)
const zero = () => ({ reads: 0, guard: 0, insert: 0, link: 0, commit: 0, outcome: 0 })
const times = { perRow: zero(), grouped: zero() }
for (let r = 0; r < ROUNDS; r++) {
  round(false, times.perRow)
  round(true, times.grouped)
}
db.close()
rmSync(dir, { recursive: true, force: true })
const per = (ms) => ((ms / ROUNDS / JOBS) * 1000).toFixed(1)
console.log(`µs per row after ${HISTORY_ROUNDS * JOBS} runs of history (the machine is shared and noisy: run it twice)`)
for (const [name, t] of Object.entries(times)) {
  const claim = t.reads + t.guard + t.insert + t.link + t.commit
  console.log(
    `${name === 'perRow' ? 'a statement per row' : 'a statement per group'}: claim ${per(claim)} ` +
      `(paused + holders once per batch ${per(t.reads)}, INSERT slot_claims ${per(t.guard)}, INSERT runs ${per(t.insert)}, ` +
      `UPDATE jobs ${per(t.link)}, BEGIN + COMMIT ${per(t.commit)}), outcome UPDATE + COMMIT ${per(t.outcome)}: ` +
      `${per(claim + t.outcome)} in all`,
  )
}
