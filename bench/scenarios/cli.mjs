/**
 * Scenario D: CLI cold start. Each command is spawned `reps` times, the commands interleaved (one
 * of each per round, the order rotating), so a noisy neighbour slows every command alike. Wall time
 * is the target's measure; user+system CPU (from /usr/bin/time when present) is reported too,
 * because it is much less sensitive to a loaded machine.
 *
 * Forked by bench/run.mjs with { reps, runs }. Commands the build does not have (list-jobs and logs
 * may not exist yet) are skipped, and so is a command that fails (its error is reported).
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { runAsChild } from '../lib/fork.mjs'
import { FIXTURE_JOBS, millionRunFile } from '../lib/million.mjs'
import { PKG, REPO } from '../lib/pkg.mjs'
import { median } from '../lib/stats.mjs'

const { reps, runs } = JSON.parse(process.argv[2])
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null
const crons = join(PKG, 'bin/run.js')
const config = join(REPO, 'bench/fixtures/crons.config.ts')
const bare = join(REPO, 'bench/bare-oclif/bin/run.js')

const manifest = JSON.parse(readFileSync(join(PKG, 'oclif.manifest.json'), 'utf8'))
const has = (id) => id in manifest.commands

async function commands() {
  const list = [
    { id: 'node -e 0', argv: ['-e', '0'] },
    { id: 'bare oclif (hi)', argv: [bare, 'hi'] },
    // oclif with crons' manifest and plugins, but no command code: what the framework set-up costs.
    { id: 'crons --version', argv: [crons, '--version'] },
    {
      id: 'crons next "*/5 * * * *" --count 5 --tz UTC',
      argv: [crons, 'next', '*/5 * * * *', '--count', '5', '--tz', 'UTC'],
    },
    { id: 'crons config (10 jobs)', argv: [crons, 'config', '--config', config], need: 'config' },
    {
      id: 'crons list-jobs (10 jobs, no state)',
      argv: [crons, 'list-jobs', '--config', config, '--state', join(REPO, 'bench/fixtures/none.db')],
      need: 'list-jobs',
    },
  ]
  let generated = null
  if (has('logs') || has('list-jobs')) {
    const big = await millionRunFile(runs)
    generated = big
    const state = ['--config', config, '--state', big.file]
    list.push(
      {
        id: `crons logs --job ${FIXTURE_JOBS[3]} (1M runs)`,
        argv: [crons, 'logs', '--job', FIXTURE_JOBS[3], ...state],
        need: 'logs',
      },
      { id: 'crons list-jobs (1M runs)', argv: [crons, 'list-jobs', ...state], need: 'list-jobs' },
    )
  }
  return { list, generated }
}

function runOnce(argv) {
  const cmd = TIME ? TIME : process.execPath
  const args = TIME ? ['-f', '@@TIME %U %S', process.execPath, ...argv] : argv
  const t0 = performance.now()
  const r = spawnSync(cmd, args, {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC', NO_COLOR: '1' },
    maxBuffer: 64 * 1024 * 1024,
  })
  const wallMs = performance.now() - t0
  let cpuMs = Number.NaN
  let stderr = r.stderr ?? ''
  const m = /@@TIME ([\d.]+) ([\d.]+)\s*$/.exec(stderr)
  if (m) {
    cpuMs = (Number(m[1]) + Number(m[2])) * 1000
    stderr = stderr.slice(0, m.index)
  }
  return {
    ok: r.status === 0,
    status: r.status,
    wallMs,
    cpuMs,
    stderr: stderr.trim().split('\n').slice(-3).join(' | '),
  }
}

async function main() {
  const { list, generated } = await commands()
  const rows = list.map((c) => ({
    ...c,
    wall: [],
    cpu: [],
    skipped: c.need && !has(c.need) ? 'command missing' : null,
  }))
  // One untimed round first: disk cache, the config bundle cache.
  for (const row of rows) if (!row.skipped) runOnce(row.argv)
  for (let rep = 0; rep < reps; rep++) {
    for (let k = 0; k < rows.length; k++) {
      const row = rows[(k + rep) % rows.length]
      if (row.skipped) continue
      const r = runOnce(row.argv)
      if (!r.ok) {
        row.skipped = `exit ${r.status}: ${r.stderr}`
        continue
      }
      row.wall.push(r.wallMs)
      if (Number.isFinite(r.cpuMs)) row.cpu.push(r.cpuMs)
    }
  }
  const result = {
    reps,
    cpuMeasured: TIME !== null,
    million: generated,
    rows: rows.map((r) => ({
      id: r.id,
      skipped: r.skipped,
      wallMs: median(r.wall),
      wallMin: r.wall.length ? Math.min(...r.wall) : Number.NaN,
      cpuMs: median(r.cpu),
      n: r.wall.length,
    })),
  }
  return result
}

runAsChild(main)
