/**
 * Scenario A's workload on a FakeClock, for the micro benchmarks: `jobs` jobs every second, every
 * run recorded in a SQLite state file in a temporary folder, started and warmed up (statements
 * prepared, code compiled, the first slots served). `makeRun(i)` gives job i's code.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { importPkg } from './pkg.mjs'

export async function startFakeEngine(makeRun, { jobs = 1000, warmupSeconds = 5 } = {}) {
  const { createScheduler, FakeClock } = await importPkg('dist/index.js')
  const dir = mkdtempSync(join(tmpdir(), 'crons-micro-'))
  const defs = Array.from({ length: jobs }, (_, i) => ({ name: `job-${i}`, schedule: '* * * * * *', run: makeRun(i) }))
  const clock = new FakeClock(Date.UTC(2030, 0, 1))
  const scheduler = createScheduler({ state: join(dir, 'state.db'), jobs: defs }, { clock, claimLeadMs: 50 })
  let errors = 0
  scheduler.events.on('engine:error', (e) => {
    errors++
    console.error(e.message)
  })
  await scheduler.start()
  for (let i = 0; i < warmupSeconds; i++) await clock.advance(1000)
  return {
    clock,
    errors: () => errors,
    async stop() {
      await scheduler.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
