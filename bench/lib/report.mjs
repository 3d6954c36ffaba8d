/**
 * docs/performance.md: how to reproduce, the latest figures with the machine they were measured
 * on, the targets, and the findings (kept by hand in bench/FINDINGS.md, because they explain
 * profiles rather than restate numbers).
 */
import { existsSync, readFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { REPO } from './pkg.mjs'
import { markdownTable } from './stats.mjs'

export function machine() {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg().map((l) => l.toFixed(2)),
  }
}

export function targetsTable(targets) {
  const met = (m) => (m === true ? 'met' : m === false ? '**missed**' : '-')
  return markdownTable(
    ['scenario', 'metric', 'crons', 'peer', 'peer figure', 'ratio', 'target', 'status'],
    targets.map((t) => [t.scenario, t.metric, t.crons, t.peerName, t.peer, t.ratio, t.target, met(t.met)]),
  )
}

const INTRO = `# Performance

How \`crons\` compares with the schedulers people would otherwise pick (croner, node-cron, cron,
toad-scheduler; graphile-worker and pg-boss on PostgreSQL) and with cron-parser, on the things a
scheduler spends time on: firing many jobs on time, holding many jobs while idle, computing fire
times, starting the CLI, and serving one PostgreSQL from several processes.

## Reproduce

\`\`\`sh
npm run bench                        # build, then every scenario (about 25 minutes, G included)
node bench/run.mjs --quick           # shorter windows and fewer rounds (4–5 minutes)
node bench/run.mjs --only A,C        # some scenarios only
node bench/run.mjs --repeat 3        # A, C: median of three runs of each library
node bench/run.mjs --only B --profile  # also CPU-profile crons (bench/results/profiles/*.cpuprofile)
node bench/run.mjs --render          # rewrite this file from the last results (bench/results/latest.json)
node bench/run.mjs --only G --no-docs  # PostgreSQL: crons against graphile-worker and pg-boss (7 minutes)
node bench/scenarios/postgres.mjs    # PostgreSQL: crons alone, 1,000 jobs every 5 s (30 s)
npm run soak -- --store postgres     # PostgreSQL chaos soak, 10 minutes (not a benchmark: invariants)
\`\`\`

\`node bench/run.mjs\` measures the existing build (\`npm run build\` first). Only a full run (no
\`--quick\`, \`--only\` or \`--profile\`) rewrites this file; \`--docs\` forces it, \`--no-docs\` prevents it.
Raw results of the run shown here are in \`bench/results/latest.json\` (a run that does not rewrite this file
writes \`bench/results/partial.json\`). Summarise a profile with
\`node bench/lib/profile-summary.mjs FILE.cpuprofile\`.

Each library runs in its own forked process (\`bench/scenarios/*.mjs\`), one after the other, so
RSS, heap and CPU (\`process.cpuUsage()\`) belong to that library alone; the machine is shared and
noisy, so compare the ratios measured in the same run rather than figures across runs. Processes
run with \`TZ=UTC\`, and the peers are used as their docs show (\`new Cron(expr, fn)\`,
\`cron.schedule(expr, fn)\`, \`CronJob.from({ cronTime, onTick, start: true })\`,
\`new SimpleIntervalJob({ seconds: 1 }, task)\`).

| scenario | what it measures | targets |
|---|---|---|
| A | 1,000 jobs every second (\`* * * * * *\`) for 30 s; crons records each run in a SQLite file. Lateness (job start − intended instant) p50/p99/max, CPU per fire, RSS, missed or duplicated fires (counted per job and second, and for crons in the state file) | p99 lateness ≤ 0.25× croner; CPU per fire ≤ croner; none missed or duplicated |
| B | 10,000 once-a-minute jobs with varied expressions, then 30 s idle: time to register and start, idle CPU, heap after GC | register ≤ 0.5× node-cron; idle CPU ≤ node-cron; heap ≤ 0.5× node-cron |
| C | next 1,000 fire times of \`*/5 * * * *\` in America/New_York, per call, cold and warm | ≤ croner per call |
| D | CLI cold start: \`crons next\`, \`crons config\` and \`crons list-jobs\` with a 10-job config, \`crons logs\` and \`crons list-jobs\` on a state file with 1,000,000 runs, against \`node -e 0\` and a bare oclif CLI | ≤ 1.6× bare oclif; logs on 1M runs ≤ 2× |
| E | two scheduler processes sharing one state file, 500 jobs every second each, 30 s | every (job, slot) exactly once; no SQLITE_BUSY; p99 lateness reported |
| F | pruning history in 20 ms steps: one hour of 1,000 per-second jobs beyond keepRuns 1,000, and the first prune of the 1M-run file of D (and \`start()\` on it): total time, rows/s, longest step, worst event-loop stall | no event-loop stall over 50 ms |
| G | PostgreSQL: 1,000 jobs due every minute, 4 processes of each library on one server (crons, graphile-worker's crontab, pg-boss's \`schedule()\`; the peers installed on demand into \`bench/peers\`): start delay after the minute p50/p99, duplicates and misses, statements per job, idle statements per second | no duplicate; p99 ≤ 250 ms and ≤ 0.1× the better peer; idle ≤ 1 statement/s per process |
`

export function renderDoc({ info, date, command, durationS, sections, targetText, failures }) {
  const findingsFile = join(REPO, 'bench/FINDINGS.md')
  const findings = existsSync(findingsFile) ? readFileSync(findingsFile, 'utf8').trim() : '## Findings\n\nNone yet.'
  const when = (date ?? new Date().toISOString()).replace(/\.\d+Z$/, 'Z')
  return `${[
    INTRO,
    '## Latest results',
    '',
    `Measured ${when} on ${info.cpu} (${info.cores} cores, ${info.memoryGB} GB), Node ${info.node}, ${info.os}; ` +
      `load average (1/5/15 min) ${info.loadAtStart ? `${info.loadAtStart.join(' / ')} at the start, ` : ''}` +
      `${info.loadAverage.join(' / ')} at the end. Command: \`${command}\` (${Math.round(durationS)} s).`,
    '',
    '### Targets',
    '',
    targetText,
    ...(failures.length ? ['', 'Scenarios that failed in this run:', '', ...failures.map((f) => `- ${f}`)] : []),
    '',
    ...sections.flatMap((s) => [s, '']),
    findings,
  ].join('\n')}\n`
}
