/**
 * The crons benchmark suite. `npm run bench` builds, then runs this:
 *
 *   node bench/run.mjs [--quick] [--only A,C] [--repeat N] [--profile] [--docs | --no-docs]
 *   node bench/run.mjs --render     # docs/performance.md again from the last results
 *
 * Every scenario runs crons and its peers back to back, each library in its own forked process, so
 * memory, heap and CPU figures belong to one library only. Results go to stdout as tables, to
 * bench/results/latest.json and docs/performance.md (full runs, or with --docs), or else to
 * bench/results/partial.json, so that --render never renders a partial run's results.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runScenario } from './lib/fork.mjs'
import { REPO, removeSnapshot, snapshotPackage } from './lib/pkg.mjs'
import { summarise } from './lib/profile-summary.mjs'
import { machine, renderDoc, targetsTable } from './lib/report.mjs'
import { fmt, markdownTable, median, ratio } from './lib/stats.mjs'

const require = createRequire(import.meta.url)
const argv = process.argv.slice(2)
const flag = (name) => argv.includes(name)
const value = (name) => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}

const quick = flag('--quick')
const only = (value('--only') ?? 'A,B,C,D,E,F,G').toUpperCase().split(',')
const repeat = Math.max(1, Number(value('--repeat') ?? 1))
const profile = flag('--profile')
const writeDocs = flag('--docs') || (!flag('--no-docs') && !quick && !value('--only') && !profile)

const PLAN = {
  A: { jobs: 1000, seconds: quick ? 8 : 30 },
  B: { jobs: 10_000, idleSeconds: quick ? 8 : 30, rounds: quick ? 1 : 3 },
  C: {
    expression: '*/5 * * * *',
    zone: 'America/New_York',
    // Spans the fall-back of 2025-11-02 in New York: the fire times also show who handles it how.
    from: Date.parse('2025-11-01T00:00:00Z'),
    count: 1000,
    maxReps: quick ? 50 : 500,
    budgetMs: quick ? 1500 : 5000,
  },
  D: { reps: quick ? 5 : 15, runs: 1_000_000 },
  E: { jobs: 500, seconds: quick ? 8 : 30 },
  // One hour of 1,000 per-second jobs beyond keepRuns (a quarter of it with --quick), pruned in
  // 20 ms steps as the scheduler does; then the first prune of the 1M-run file of D.
  F: { jobs: 1000, keepRuns: 1000, seconds: quick ? 900 : 3600, maxMs: 20, large: true },
  // Minute instants (graphile-worker's crontab has no seconds): about 7 minutes for the three libraries.
  G: { jobs: 1000, processes: 4 },
}

const RESULTS = join(REPO, 'bench/results')
const log = (line) => process.stderr.write(`${line}\n`)
const targets = []
const sections = []
const raw = { plan: PLAN, quick, repeat }

function target(scenario, metric, crons, peerName, peer, limit, unit = '') {
  const r = Number.isFinite(crons) && Number.isFinite(peer) && peer > 0 ? crons / peer : Number.NaN
  targets.push({
    scenario,
    metric,
    crons: fmt(crons, unit),
    peerName,
    peer: fmt(peer, unit),
    ratio: ratio(crons, peer),
    target: `≤ ${limit}× ${peerName}`,
    met: Number.isFinite(r) ? r <= limit : null,
  })
}

function check(scenario, metric, ok, detail) {
  targets.push({ scenario, metric, crons: detail, peerName: '', peer: '', ratio: '', target: 'zero', met: ok })
}

function section(title, intro, table, notes = []) {
  const text = [`### ${title}`, '', intro, '', table, ...(notes.length ? ['', ...notes] : [])].join('\n')
  sections.push(text)
  process.stdout.write(`\n${text}\n`)
}

/** Median of each numeric leaf across repeated results of the same shape. */
function medianOf(results) {
  if (results.length === 1) return results[0]
  const first = results[0]
  if (typeof first === 'number') return median(results)
  if (Array.isArray(first) || first === null || typeof first !== 'object') return first
  return Object.fromEntries(Object.keys(first).map((k) => [k, medianOf(results.map((r) => r[k]))]))
}

async function repeated(fn) {
  const all = []
  for (let i = 0; i < repeat; i++) all.push(await fn(i))
  return medianOf(all)
}

function profilePath(name) {
  if (!profile) return undefined
  mkdirSync(join(RESULTS, 'profiles'), { recursive: true })
  return join(RESULTS, 'profiles', `${name}.cpuprofile`)
}

function profileNote(path, top = 12) {
  if (!path) return []
  const s = summarise(JSON.parse(readFileSync(path, 'utf8')), top)
  const lines = s.functions.map(
    (f) => `    ${f.ms.toFixed(1).padStart(8)} ms ${f.pct.toFixed(1).padStart(5)}%  ${f.name}`,
  )
  return [
    `Profile ${path.replace(`${REPO}/`, '')} (self time, top ${top} of ${s.totalMs.toFixed(0)} ms):`,
    '',
    ...lines,
  ]
}

// --- A -----------------------------------------------------------------------------------------

async function scenarioA() {
  const { jobs, seconds } = PLAN.A
  const libs = ['crons', 'croner', 'node-cron', 'cron', 'toad-scheduler']
  const dir = mkdtempSync(join(tmpdir(), 'crons-bench-a-'))
  const prof = profilePath('A-crons-window')
  const res = await repeated(async (rep) => {
    const out = {}
    for (const lib of libs) {
      log(`A: ${lib}, ${jobs} jobs every second for ${seconds} s`)
      const options = { lib, jobs, seconds }
      if (lib === 'crons') Object.assign(options, { stateFile: join(dir, `a-${rep}.db`), verify: true, profile: prof })
      out[lib] = await runScenario('fire.mjs', options, { timeoutMs: (seconds + 120) * 1000 })
    }
    return out
  })
  rmSync(dir, { recursive: true, force: true })
  raw.A = res
  const rows = libs.map((lib) => {
    const r = res[lib]
    const db = r.db
      ? `${r.db.rows} rows, ${r.db.missing} missing, ${r.db.duplicated} dup, ${Object.entries(r.db.statuses)
          .map(([k, v]) => `${v} ${k}`)
          .join(', ')}`
      : '-'
    return [
      lib,
      fmt(r.lateness.p50),
      fmt(r.lateness.p99),
      fmt(r.lateness.max),
      fmt(r.settled?.p99),
      fmt(r.cpu.perFireUsMedian),
      fmt(r.rss.peakMB),
      `${r.slots.missed} / ${r.slots.duplicated}`,
      db,
    ]
  })
  const c = res.crons
  const peer = res.croner
  section(
    `A. ${jobs} jobs every second for ${seconds} s`,
    `Lateness = job code starts − the instant it was meant for (ms, over the ${jobs * seconds} fires of the window). ` +
      'CPU per fire = median over one-second buckets of process CPU (user+system) ÷ fires. ' +
      'crons records every run in a SQLite state file; croner, node-cron and cron are wall-clock aligned; ' +
      'toad-scheduler is interval-based (setInterval), so its lateness is measured against its own ticks (job start + k s) and includes its drift. ' +
      '"p99 after 10 s" leaves out the window\'s slots in the first 10 s after the library started (V8 still compiling its hot path; ' +
      'see Findings): for reading only, the target is on the whole window.',
    markdownTable(
      [
        'library',
        'p50 ms',
        'p99 ms',
        'max ms',
        'p99 after 10 s',
        'CPU µs/fire',
        'peak RSS MB',
        'missed / dup',
        'state file (window)',
      ],
      rows,
    ),
    profileNote(prof),
  )
  target('A', 'p99 lateness (ms)', c.lateness.p99, 'croner', peer.lateness.p99, 0.25)
  target('A', 'CPU per fire (µs)', c.cpu.perFireUsMedian, 'croner', peer.cpu.perFireUsMedian, 1)
  const dbOk = c.db && c.db.missing === 0 && c.db.duplicated === 0
  check(
    'A',
    'missed or duplicated fires',
    c.slots.missed === 0 && c.slots.duplicated === 0 && dbOk,
    `${c.slots.missed} missed, ${c.slots.duplicated} dup; state file ${c.db?.missing ?? '?'} missing, ${c.db?.duplicated ?? '?'} dup`,
  )
}

// --- B -----------------------------------------------------------------------------------------

async function scenarioB() {
  const { jobs, idleSeconds, rounds } = PLAN.B
  const hour = new Date().getUTCHours()
  // No job may come due during the idle window: leave this hour and the next out of every expression.
  const excludeHours = [hour, (hour + 1) % 24]
  const dir = mkdtempSync(join(tmpdir(), 'crons-bench-b-'))
  const variants = [
    { variant: 'crons (:memory:)', lib: 'crons', state: 'memory' },
    { variant: 'crons (file)', lib: 'crons', state: 'file' },
    { variant: 'node-cron', lib: 'node-cron' },
    { variant: 'croner', lib: 'croner' },
    // cron takes ~20 s to register 10,000 jobs: one round only.
    { variant: 'cron', lib: 'cron', rounds: 1 },
  ]
  const byVariant = Object.fromEntries(variants.map((v) => [v.variant, []]))
  for (let round = 0; round < rounds; round++) {
    for (const v of variants) {
      if (round >= (v.rounds ?? rounds)) continue
      const idle = round === 0 ? idleSeconds : 0
      log(`B: ${v.variant}, register ${jobs} jobs${idle ? `, idle ${idle} s` : ''} (round ${round + 1}/${rounds})`)
      const options = { lib: v.lib, variant: v.variant, jobs, idleSeconds: idle, excludeHours }
      if (v.lib === 'crons') options.stateFile = v.state === 'memory' ? ':memory:' : join(dir, `b-${round}.db`)
      if (round === 0 && v.state === 'memory') {
        options.profileRegister = profilePath('B-crons-register')
        options.profileIdle = profilePath('B-crons-idle')
      }
      byVariant[v.variant].push(
        await runScenario('idle.mjs', options, { execArgv: ['--expose-gc'], timeoutMs: 300_000 }),
      )
    }
  }
  rmSync(dir, { recursive: true, force: true })
  const res = Object.fromEntries(
    Object.entries(byVariant).map(([k, list]) => [
      k,
      { ...list[0], registerMs: median(list.map((r) => r.registerMs)), registerN: list.length },
    ]),
  )
  // The window's CPU often holds one V8 memory-reducer GC cycle (it follows the forced GCs and the
  // registration burst by some seconds, for every library): "steady" leaves it out, as ten times
  // the median tenth of the window.
  for (const r of Object.values(res)) r.idleSteadyMs = r.idleCpuSlices ? median(r.idleCpuSlices) * 10 : Number.NaN
  raw.B = res
  const rows = Object.values(res).map((r) => [
    r.variant,
    `${fmt(r.registerMs)} (n=${r.registerN})`,
    fmt(r.importMs),
    fmt(r.idleCpuMs),
    fmt(r.idleSteadyMs),
    r.idleCpuSlices ? r.idleCpuSlices.map((v) => Math.round(v)).join(' ') : '-',
    fmt(r.heapMB),
    fmt(r.heapDeltaMB),
    fmt(r.rssMB),
    r.idleThreads
      ? Object.entries(r.idleThreads)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || '-'
      : '-',
  ])
  section(
    `B. ${jobs} once-a-minute jobs, idle ${idleSeconds} s`,
    'Register = create every job and start the scheduler (crons: createScheduler + start(), which also opens the store and ' +
      `records the jobs), median of ${rounds} fresh processes. Expressions vary per job (minute i % 60, two or three hours, ` +
      'seven day-of-week lists) and leave out the hours of the window, so nothing fires while idle. Idle CPU is ' +
      'process.cpuUsage() over the window, also shown per tenth of the window; "steady" is ten times the median tenth, which ' +
      'leaves out the one V8 memory-reducer GC cycle that lands in the window at a time of its own choosing. Heap is ' +
      'heapUsed after forced GC at the end of the window, and its growth over the heap right after importing the library.',
    markdownTable(
      [
        'library',
        'register ms',
        'import ms',
        `idle CPU ms / ${idleSeconds} s`,
        'steady ms',
        'per tenth (ms)',
        'heap MB',
        'heap growth MB',
        'RSS MB',
        'idle CPU by thread (ms, /proc)',
      ],
      rows,
    ),
    [...profileNote(profilePath('B-crons-register')), ...profileNote(profilePath('B-crons-idle'))],
  )
  const nc = res['node-cron']
  target('B', 'register 10k jobs, :memory: (ms)', res['crons (:memory:)'].registerMs, 'node-cron', nc.registerMs, 0.5)
  target('B', 'register 10k jobs, state file (ms)', res['crons (file)'].registerMs, 'node-cron', nc.registerMs, 0.5)
  target('B', `idle CPU over ${idleSeconds} s (ms)`, res['crons (:memory:)'].idleCpuMs, 'node-cron', nc.idleCpuMs, 1)
  target(
    'B',
    `idle CPU over ${idleSeconds} s, steady (ms)`,
    res['crons (:memory:)'].idleSteadyMs,
    'node-cron',
    nc.idleSteadyMs,
    1,
  )
  target('B', 'heap after GC (MB)', res['crons (:memory:)'].heapMB, 'node-cron', nc.heapMB, 0.5)
}

// --- C -----------------------------------------------------------------------------------------

async function scenarioC() {
  const p = PLAN.C
  const libs = ['crons', 'croner', 'cron-parser', 'cron']
  const res = await repeated(async () => {
    const out = {}
    for (const lib of libs) {
      log(`C: ${lib}, next ${p.count} fire times of "${p.expression}" in ${p.zone}`)
      out[lib] = await runScenario('next.mjs', { lib, ...p })
    }
    return out
  })
  const reference = res.crons.fires
  const agreement = (fires) => {
    const ours = new Set(reference)
    const missing = reference.filter((t) => !fires.includes(t)).length
    const extra = fires.filter((t) => !ours.has(t)).length
    return missing === 0 && extra === 0 ? 'same 1000' : `${missing} of ours missing, ${extra} others`
  }
  raw.C = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, { ...v, fires: undefined }]))
  section(
    `C. next ${p.count} fire times of \`${p.expression}\` in ${p.zone}`,
    `From ${new Date(p.from).toISOString()} (the span includes the 2025-11-02 fall-back). One chain = build the schedule ` +
      `from its text, then ${p.count} next() calls each after the previous (croner: nextRuns(${p.count}, from); ` +
      'cron-parser: parse() then next(); cron: CronTime.getNextDateFrom). Cold = the first chain in a fresh process; ' +
      'warm = median of repeated chains. Times are per fire time.',
    markdownTable(
      ['library', 'cold µs/call', 'warm µs/call', 'chains', 'fire times vs crons'],
      libs.map((lib) => [
        lib,
        fmt(res[lib].coldUs),
        fmt(res[lib].warmUs),
        res[lib].reps,
        lib === 'crons' ? '-' : agreement(res[lib].fires),
      ]),
    ),
  )
  target('C', 'next() per call, warm (µs)', res.crons.warmUs, 'croner', res.croner.warmUs, 1)
  target('C', 'next() per call, cold (µs)', res.crons.coldUs, 'croner', res.croner.coldUs, 1)
}

// --- D -----------------------------------------------------------------------------------------

async function scenarioD() {
  log(`D: CLI cold start, ${PLAN.D.reps} rounds (generating the 1M-run state file first if needed)`)
  const res = await runScenario('cli.mjs', PLAN.D, { timeoutMs: 900_000 })
  raw.D = res
  const find = (prefix) => res.rows.find((r) => r.id.startsWith(prefix))
  const nodeRow = find('node -e 0')
  const bare = find('bare oclif')
  section(
    'D. CLI cold start',
    `Wall time of a spawned process, median of ${res.reps} rounds (commands interleaved, after one untimed warm-up round); ` +
      'CPU = user+system of the process (/usr/bin/time). The bare oclif CLI (bench/bare-oclif) has one command printing "hi" ' +
      'and uses the same @oclif/core. The 1M-run state file has 1,000,000 runs of the 10 fixture jobs' +
      (res.million
        ? ` (${res.million.generatedMs ? `generated in ${(res.million.generatedMs / 1000).toFixed(0)} s` : 'reused from the temp folder'}).`
        : '.'),
    markdownTable(
      ['command', 'wall ms', 'min ms', 'CPU ms', '× node -e 0', '× bare oclif'],
      res.rows.map((r) =>
        r.skipped && !Number.isFinite(r.wallMs)
          ? [r.id, `skipped: ${r.skipped}`, '', '', '', '']
          : [
              r.id,
              fmt(r.wallMs),
              fmt(r.wallMin),
              fmt(r.cpuMs),
              ratio(r.wallMs, nodeRow.wallMs),
              ratio(r.wallMs, bare.wallMs),
            ],
      ),
    ),
  )
  for (const [prefix, limit] of [
    ['crons next', 1.6],
    ['crons config', 1.6],
    ['crons list-jobs (10 jobs', 1.6],
    ['crons logs', 2],
    ['crons list-jobs (1M', 2],
  ]) {
    const row = find(prefix)
    if (!row || (row.skipped && !Number.isFinite(row.wallMs))) continue
    target('D', `${row.id} (wall ms)`, row.wallMs, 'bare oclif', bare.wallMs, limit)
  }
}

// --- E -----------------------------------------------------------------------------------------

async function scenarioE() {
  const { jobs, seconds } = PLAN.E
  const dir = mkdtempSync(join(tmpdir(), 'crons-bench-e-'))
  const stateFile = join(dir, 'shared.db')
  log(`E: two schedulers on one state file, ${jobs} jobs every second each, ${seconds} s`)
  const startAt = Date.now() + 2000
  const options = { lib: 'crons', jobs, seconds, stateFile, startAt, returnCounts: true }
  const [a, b] = await Promise.all([
    runScenario('fire.mjs', options, { timeoutMs: (seconds + 120) * 1000 }),
    runScenario('fire.mjs', options, { timeoutMs: (seconds + 120) * 1000 }),
  ])
  // Sum both processes' fire counts per (job, slot) over the same window.
  const ca = Buffer.from(a.ownCounts, 'base64')
  const cb = Buffer.from(b.ownCounts, 'base64')
  const countsA = new Uint16Array(ca.buffer, ca.byteOffset, ca.length / 2)
  const countsB = new Uint16Array(cb.buffer, cb.byteOffset, cb.length / 2)
  // The window both processes measured (they may have started a second apart on a loaded machine).
  const first = Math.max(a.window.first, b.window.first)
  const last = Math.min(a.window.last, b.window.last)
  const slots = (last - first) / 1000 + 1
  const count = (r, counts, i, slot) => {
    const index = (slot - r.base) / 1000
    return index >= 0 && index < r.totalSlots ? counts[i * r.totalSlots + index] : 0
  }
  let once = 0
  let missed = 0
  let duplicated = 0
  for (let i = 0; i < jobs; i++) {
    for (let slot = first; slot <= last; slot += 1000) {
      const n = count(a, countsA, i, slot) + count(b, countsB, i, slot)
      if (n === 0) missed++
      else if (n === 1) once++
      else duplicated += n - 1
    }
  }
  // The state file, for the same window.
  const Database = require('better-sqlite3')
  const db = new Database(stateFile, { readonly: true })
  const per = db
    .prepare(
      `SELECT count(*) AS n, count(DISTINCT job || ':' || slot) AS d, count(DISTINCT instance_id) AS instances
       FROM runs WHERE "trigger" = 'schedule' AND slot BETWEEN ? AND ?`,
    )
    .get(first, last)
  const byInstance = db
    .prepare(`SELECT instance_id AS id, count(*) AS n FROM runs WHERE slot BETWEEN ? AND ? GROUP BY instance_id`)
    .all(first, last)
  // Slots some job did not run in: who ran the others, and whether the missing ones were claimed.
  const gaps = db
    .prepare(
      `SELECT s.slot, (SELECT count(*) FROM runs r WHERE r.slot = s.slot) AS runs,
         (SELECT count(*) FROM slot_claims c WHERE c.slot = s.slot) AS claims,
         (SELECT group_concat(DISTINCT r.instance_id) FROM runs r WHERE r.slot = s.slot) AS instances
       FROM (SELECT DISTINCT slot FROM slot_claims WHERE slot BETWEEN ? AND ?) s`,
    )
    .all(first, last)
    .filter((g) => g.runs !== jobs)
  db.close()
  rmSync(dir, { recursive: true, force: true })
  const expectedDb = jobs * slots
  const busy = [...a.errorSamples, ...b.errorSamples].filter((m) => /BUSY|locked/i.test(m)).length
  raw.E = {
    a: { ...a, ownCounts: undefined },
    b: { ...b, ownCounts: undefined },
    once,
    missed,
    duplicated,
    per,
    byInstance,
  }
  const late = (r) => [fmt(r.lateness.p50), fmt(r.lateness.p99), fmt(r.lateness.max)]
  section(
    `E. Two schedulers, one state file: ${jobs} jobs every second each, ${seconds} s`,
    'Two processes run createScheduler with the same 500 jobs and the same SQLite file, started on the same instant. ' +
      "Every (job, slot) of the window must run exactly once in total: checked from both processes' own counts and from the state file.",
    markdownTable(
      ['process', 'fires run', 'p50 ms', 'p99 ms', 'max ms', 'CPU µs/fire', 'engine errors'],
      [
        ['scheduler 1', a.lateness.n, ...late(a), fmt(a.cpu.perFireUsMedian), a.errors],
        ['scheduler 2', b.lateness.n, ...late(b), fmt(b.cpu.perFireUsMedian), b.errors],
      ],
    ),
    [
      `Both together: ${once} of ${jobs * slots} (job, slot) pairs ran exactly once, ${missed} missed, ${duplicated} duplicated. ` +
        `State file: ${per.n} run rows for ${per.d} distinct (job, slot) pairs of ${expectedDb} expected, ` +
        `rows by instance: ${byInstance.map((r) => r.n).join(' + ')}. SQLITE_BUSY / locked errors: ${busy}.`,
      ...gaps.map(
        (g) =>
          `Slot ${new Date(g.slot).toISOString()}: ${g.runs} run rows, ${g.claims} slot claims (of ${jobs}), run by ${g.instances}.`,
      ),
    ],
  )
  check(
    'E',
    'missed or duplicated slots (2 processes)',
    missed === 0 && duplicated === 0 && per.n === per.d && per.d === expectedDb,
    `${missed} missed, ${duplicated} dup; state file ${expectedDb - per.d} missing, ${per.n - per.d} dup`,
  )
  check(
    'E',
    'SQLITE_BUSY / engine errors',
    a.errors + b.errors === 0,
    `${busy} busy, ${a.errors + b.errors} engine errors`,
  )
  targets.push({
    scenario: 'E',
    metric: 'p99 lateness (ms), reported',
    crons: `${fmt(a.lateness.p99)} / ${fmt(b.lateness.p99)}`,
    peerName: '',
    peer: '',
    ratio: '',
    target: 'report',
    met: null,
  })
}

// --- F -----------------------------------------------------------------------------------------

async function scenarioF() {
  const { jobs, keepRuns, seconds, maxMs } = PLAN.F
  log(
    `F: pruning ${jobs} jobs × ${seconds} runs beyond keepRuns ${keepRuns} in ${maxMs} ms steps, then the 1M-run file`,
  )
  const res = await runScenario('prune.mjs', PLAN.F, { timeoutMs: 1_800_000 })
  raw.F = res
  const cases = [
    [`steady: ${jobs} jobs × (${keepRuns} kept + ${seconds} beyond), keepRuns ${keepRuns}`, res.steady],
    ['first prune of the 1M-run file (keepDays 30, keepRuns 10,000)', res.large],
  ].filter(([, r]) => r)
  section(
    'F. Pruning history',
    `The store's prune in steps of ${maxMs} ms with a turn of the event loop between them, as the scheduler calls it. ` +
      `The steady file holds ${keepRuns} + ${seconds} runs of each of ${jobs} per-second jobs, interleaved as a scheduler writes them ` +
      `(built with direct inserts in ${fmt((res.steady?.buildMs ?? 0) / 1000)} s). Stall = the longest gap between 1 ms timer callbacks ` +
      '(monitorEventLoopDelay max in brackets). "start()" is `createScheduler().start()` on a fresh copy of the 1M-run file: its first prune comes before the first tick.',
    markdownTable(
      ['case', 'rows', 'deleted', 'total s', 'rows/s', 'steps', 'longest step ms', 'worst stall ms'],
      cases.map(([name, r]) => [
        name,
        fmt(r.rows),
        fmt(r.deleted),
        fmt(r.totalMs / 1000),
        fmt(r.rowsPerS),
        fmt(r.steps),
        fmt(r.longestStepMs),
        `${fmt(r.worstGapMs)} (${fmt(r.loopDelayMaxMs)})`,
      ]),
    ),
    res.start
      ? [`start() on the 1M-run file: ${fmt(res.start.startMs)} ms, worst stall ${fmt(res.start.worstGapMs)} ms.`]
      : [],
  )
  for (const [name, r] of cases) {
    const metric = `worst event-loop stall while pruning, ${name.split(':')[0].split(' (')[0]} (ms)`
    targets.push({
      scenario: 'F',
      metric,
      crons: fmt(r.worstGapMs),
      peerName: '',
      peer: '',
      ratio: '',
      target: '≤ 50 ms',
      met: r.worstGapMs <= 50,
    })
  }
}

// --- G -----------------------------------------------------------------------------------------

async function scenarioG() {
  const { jobs, processes } = PLAN.G
  log(`G: ${jobs} jobs every minute on PostgreSQL, ${processes} processes each of crons, graphile-worker, pg-boss`)
  const res = await runScenario('postgres-peers.mjs', PLAN.G, { timeoutMs: 1_200_000 })
  raw.G = res
  const names = Object.keys(res.results)
  const row = (name) => {
    const r = res.results[name]
    const version = name === 'crons' ? '' : ` ${res.versions[name]}`
    return [
      `${name}${version}`,
      `${fmt(r.runs)} / ${fmt(jobs)}`,
      fmt(r.duplicates),
      fmt(r.missed),
      fmt(r.startDelayMs.p50),
      fmt(r.startDelayMs.p99),
      fmt(r.startDelayMs.max),
      `${fmt(r.firstInstantAfterStart.p50)} / ${fmt(r.firstInstantAfterStart.p99)}`,
      fmt(r.statementsPerJob),
      fmt(r.idleStatementsPerSecond),
      `${r.loadAverage.before[0]} → ${r.loadAverage.after[0]}`,
    ]
  }
  section(
    `G. Many hosts on PostgreSQL: ${jobs} jobs every minute, ${processes} processes`,
    `Each library in turn runs ${processes} processes on one PostgreSQL (its own schema), with the same ${jobs} jobs due ` +
      'every minute: crons with `createScheduler`, graphile-worker with a crontab line per job (`run()`, default concurrency), ' +
      'pg-boss with a queue and a `schedule()` per job and a `work()` per queue in each process (defaults). The first minute ' +
      'after all processes serve warms up; the next is measured. Start delay = job start − the minute instant. ' +
      'Statements: every `pg` query of every process, from 1 s before the instant until its runs are over, per job run; ' +
      'idle: per process and second in the 39 s before the instant. The peers are installed on demand into bench/peers.',
    markdownTable(
      [
        'library',
        'runs',
        'dup',
        'missed',
        'p50 ms',
        'p99 ms',
        'max ms',
        'first minute p50 / p99 ms',
        'statements per job',
        'idle statements/s',
        'load (1 min)',
      ],
      names.map(row),
    ),
  )
  const crons = res.results.crons
  if (!crons) return
  check(
    'G',
    'duplicated or missed (job, minute), 4 processes',
    crons.duplicates === 0 && crons.missed === 0 && (crons.duplicateRowsInStore ?? 0) === 0,
    `${crons.duplicates} dup, ${crons.missed} missed; store ${crons.duplicateRowsInStore ?? 0} dup`,
  )
  targets.push({
    scenario: 'G',
    metric: 'p99 start delay (ms)',
    crons: fmt(crons.startDelayMs.p99),
    peerName: '',
    peer: '',
    ratio: '',
    target: '≤ 250 ms',
    met: crons.startDelayMs.p99 <= 250,
  })
  // A peer that ran no job has no p99 (null), which would otherwise compare as 0 and be taken as the best.
  const peers = names.filter((name) => name !== 'crons' && Number.isFinite(res.results[name].startDelayMs.p99))
  if (peers.length > 0) {
    const best = peers.reduce((a, b) => (res.results[b].startDelayMs.p99 < res.results[a].startDelayMs.p99 ? b : a))
    target('G', 'p99 start delay (ms)', crons.startDelayMs.p99, best, res.results[best].startDelayMs.p99, 0.1)
  }
  targets.push({
    scenario: 'G',
    metric: 'idle statements per second per process',
    crons: fmt(crons.idleStatementsPerSecond),
    peerName: '',
    peer: '',
    ratio: '',
    target: '≤ 1',
    met: crons.idleStatementsPerSecond <= 1,
  })
}

// --- main --------------------------------------------------------------------------------------

const SCENARIOS = { A: scenarioA, B: scenarioB, C: scenarioC, D: scenarioD, E: scenarioE, F: scenarioF, G: scenarioG }

/** --render: rebuild docs/performance.md from the last run that wrote it (after editing bench/FINDINGS.md). */
function renderOnly() {
  const last = JSON.parse(readFileSync(join(RESULTS, 'latest.json'), 'utf8'))
  const targetText = targetsTable(last.targets)
  writeFileSync(join(REPO, 'docs/performance.md'), renderDoc({ ...last, info: last.machine, targetText }))
  log(`rewrote docs/performance.md from the run of ${last.date}`)
}

async function main() {
  if (flag('--render')) return renderOnly()
  const started = Date.now()
  const loadAtStart = machine().loadAverage
  const pkg = await snapshotPackage()
  process.env.CRONS_BENCH_PKG = pkg
  const failures = []
  try {
    for (const id of Object.keys(SCENARIOS)) {
      if (!only.includes(id)) continue
      try {
        await SCENARIOS[id]()
      } catch (error) {
        failures.push(`${id}: ${error.message}`)
        log(`scenario ${id} failed: ${error.stack ?? error}`)
      }
    }
  } finally {
    await removeSnapshot(pkg)
  }
  const info = { ...machine(), loadAtStart }
  const date = new Date().toISOString()
  const command =
    process.env.npm_lifecycle_event === 'bench'
      ? `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`
      : `node bench/run.mjs ${argv.join(' ')}`.trim()
  const durationS = (Date.now() - started) / 1000
  const targetText = targetsTable(targets)
  process.stdout.write(`\n### Targets\n\n${targetText}\n`)
  if (failures.length) process.stdout.write(`\nFailed scenarios:\n${failures.map((f) => `- ${f}`).join('\n')}\n`)
  mkdirSync(RESULTS, { recursive: true })
  writeFileSync(
    join(RESULTS, writeDocs ? 'latest.json' : 'partial.json'),
    JSON.stringify({ date, machine: info, command, durationS, targets, targetText, sections, failures, raw }, null, 2),
  )
  if (writeDocs) {
    writeFileSync(
      join(REPO, 'docs/performance.md'),
      renderDoc({ info, date, command, durationS, sections, targetText, failures }),
    )
    log('wrote docs/performance.md')
  }
  log(`done in ${durationS.toFixed(0)} s`)
  if (failures.length) process.exitCode = 1
}

await main()
