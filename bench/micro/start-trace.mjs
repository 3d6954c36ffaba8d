/**
 * Which batches of scenario A start late, and what V8 was doing meanwhile: the workload of A (1,000
 * jobs every second on the system clock, every run recorded in SQLite) in a child process run with
 * `--trace-opt`, whose job code writes a line when a batch's first and last job start. V8's trace of
 * each function it compiles lands in the same stream, so each batch shows the functions whose
 * compilation began between its first and last job.
 *
 *   node bench/micro/start-trace.mjs            # 3 runs of 15 s
 *   node bench/micro/start-trace.mjs 5 20       # 5 runs of 20 s
 *
 * Prints every batch whose last job started more than 3 ms after the instant (the bound scenario A's
 * p99 target sets against croner): its number (1 is the first after start), how late its first and
 * last job started, and the compilations begun during it. Then, per batch number, how many runs had
 * such a batch.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { importPkg } from '../lib/pkg.mjs'

const JOBS = 1000
const LATE_MS = 3

if (process.argv[2] === '--child') {
  const seconds = Number(process.argv[3])
  const { createScheduler } = await importPkg('dist/index.js')
  const hires = () => performance.timeOrigin + performance.now()
  const started = new Map()
  const defs = Array.from({ length: JOBS }, (_, i) => ({
    name: `job-${i}`,
    schedule: '* * * * * *',
    run: (ctx) => {
      const slot = ctx.scheduledAt.getTime()
      const late = hires() - slot
      const n = (started.get(slot) ?? 0) + 1
      started.set(slot, n)
      // Synchronous writes keep these lines in order with V8's trace on the same stream.
      if (n === 1) writeSync(1, `BATCH first ${slot} ${late.toFixed(2)}\n`)
      if (n === JOBS) writeSync(1, `BATCH last ${slot} ${late.toFixed(2)}\n`)
    },
  }))
  const dir = mkdtempSync(join(tmpdir(), 'crons-trace-'))
  const scheduler = createScheduler({ state: join(dir, 'state.db'), jobs: defs })
  await scheduler.start()
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  await scheduler.stop()
  rmSync(dir, { recursive: true, force: true })
  process.exit(0)
}

const runs = Number(process.argv[2] ?? 3)
const seconds = Number(process.argv[3] ?? 15)
const self = fileURLToPath(import.meta.url)
const lateByBatch = new Map()
for (let r = 1; r <= runs; r++) {
  const out = execFileSync(process.execPath, ['--trace-opt', self, '--child', String(seconds)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  let batch = 0
  let first = 0
  let compiled = []
  const late = []
  for (const line of out.split('\n')) {
    const mark = /^BATCH (first|last) \d+ ([\d.]+)$/.exec(line)
    if (mark?.[1] === 'first') {
      batch++
      first = Number(mark[2])
      compiled = []
    } else if (mark?.[1] === 'last') {
      const last = Number(mark[2])
      if (last > LATE_MS) {
        late.push(
          `  batch ${batch}: first job ${first.toFixed(1)} ms late, last ${last.toFixed(1)} ms; compiling: ${compiled.join(', ') || '-'}`,
        )
        lateByBatch.set(batch, (lateByBatch.get(batch) ?? 0) + 1)
      }
    } else if (line.startsWith('[compiling method')) {
      const name = /<JSFunction ([^ >(]*)/.exec(line)?.[1]
      compiled.push(name || '(anonymous)')
    }
  }
  console.log(`run ${r}: ${batch} batches, ${late.length} with a job started more than ${LATE_MS} ms late`)
  for (const line of late) console.log(line)
}
const counts = [...lateByBatch].sort((a, b) => a[0] - b[0]).map(([b, n]) => `batch ${b}: ${n}`)
console.log(`late batches by number, over ${runs} runs: ${counts.join(', ') || 'none'}`)
