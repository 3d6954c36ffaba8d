/**
 * A state file with 1,000,000 runs for scenario D (`crons logs`, `crons list-jobs` on a big history).
 *
 * The schema comes from the package itself (openStore creates and migrates the file); the rows are
 * then bulk-inserted with better-sqlite3 in one transaction, with the runs indexes dropped during the
 * load and re-created from their own SQL afterwards (same indexes, built once instead of row by row).
 * The file lives in the temp folder and is reused while its schema version matches.
 */
import { existsSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { importPkg } from './pkg.mjs'

const require = createRequire(import.meta.url)
const GENERATOR_VERSION = 2

/** The fixture config's job names (bench/fixtures/crons.config.ts). */
export const FIXTURE_JOBS = Array.from({ length: 10 }, (_, i) => `job-0${i}`)

export async function millionRunFile(total = 1_000_000) {
  const { SCHEMA_VERSION, openStore } = await importPkg('dist/store/index.js')
  const file = join(tmpdir(), `crons-bench-${total}-runs-s${SCHEMA_VERSION}-g${GENERATOR_VERSION}.db`)
  const Database = require('better-sqlite3')
  if (existsSync(file)) {
    try {
      const db = new Database(file, { readonly: true })
      const n = db.prepare('SELECT max(id) AS n FROM runs').get().n
      db.close()
      if (n === total) return { file, generatedMs: 0 }
    } catch {
      // Unreadable or half-written: generate it again.
    }
  }
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true })
  const started = Date.now()
  const store = await openStore(file)
  const now = Date.now()
  await store.registerInstance({ id: 'bench-host-1', role: 'scheduler', host: 'bench-host', pid: 4242, now })
  await store.syncJobs(FIXTURE_JOBS, now)
  await store.stopInstance('bench-host-1', now)
  await store.close()

  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = OFF')
  const indexes = db
    .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'runs' AND sql IS NOT NULL")
    .all()
  const insert = db.prepare(
    `INSERT INTO runs (id, job, slot, "trigger", attempt, status, started_at, finished_at, duration_ms,
       error_message, error_stack, result, output, detail, instance_id, active, prev_id)
     VALUES (?, ?, ?, 'schedule', 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'bench-host-1', 0, ?)`,
  )
  const stepMs = 6_000
  const first = now - 3_600_000 - total * stepMs
  const jobCount = FIXTURE_JOBS.length
  db.transaction(() => {
    for (const { name } of indexes) db.exec(`DROP INDEX "${name}"`)
    for (let i = 1; i <= total; i++) {
      const job = FIXTURE_JOBS[i % jobCount]
      // Each job's runs are chained newest to oldest (the store walks the chain for `logs --job`).
      const prev = i > jobCount ? i - jobCount : null
      const slot = first + i * stepMs
      const kind = i % 100
      const duration = 20 + ((i * 37) % 900)
      if (kind === 0) {
        insert.run(
          i,
          job,
          slot,
          'failed',
          slot + 3,
          slot + 3 + duration,
          duration,
          'upstream answered 503',
          'Error: upstream answered 503\n    at run (crons.config.ts:12:11)',
          null,
          null,
          null,
          prev,
        )
      } else if (kind === 1) {
        insert.run(
          i,
          job,
          slot,
          'skipped',
          slot + 1,
          slot + 1,
          0,
          null,
          null,
          null,
          null,
          `still running: run ${i - 10} on instance bench-host-1 since ${new Date(slot - stepMs).toISOString()}`,
          prev,
        )
      } else {
        const output = i % 10 === 0 ? JSON.stringify([{ at: slot + 5, level: 'info', text: `tick ${i}` }]) : null
        insert.run(
          i,
          job,
          slot,
          'succeeded',
          slot + 2,
          slot + 2 + duration,
          duration,
          null,
          null,
          '{"ok":true}',
          output,
          null,
          prev,
        )
      }
    }
    for (const { sql } of indexes) db.exec(sql)
    db.prepare('UPDATE jobs SET last_slot = ?').run(first + total * stepMs)
    const head = db.prepare('UPDATE jobs SET last_run_id = ? WHERE name = ?')
    for (let i = Math.max(1, total - jobCount + 1); i <= total; i++) head.run(i, FIXTURE_JOBS[i % jobCount])
    db.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'runs'").run(total)
  })()
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
  return { file, generatedMs: Date.now() - started }
}
