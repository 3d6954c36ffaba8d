/**
 * A cancelled run as the commands show it: its status in `logs` (coloured on a terminal, plain when
 * piped), `--status cancelled`, a job's last run in `list-jobs`, and the per-status counts of `status`.
 */
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore } from '../../src/store/index.js'
import { crons } from './helpers.js'

const CONFIG = `import { defineConfig } from 'cronsjs'
export default defineConfig({
  timezone: 'UTC',
  jobs: [{ name: 'sync', schedule: '0 * * * *', run: () => undefined }],
})
`

let dir: string
let cancelledId = 0
beforeAll(async () => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(tmpdir(), 'crons-cancelled-')))
  fs.writeFileSync(path.join(dir, 'crons.config.ts'), CONFIG)
  const store = await openStore(path.join(dir, 'crons.db'))
  try {
    const slot = Date.now() - 3_600_000
    await store.syncJobs(['sync'], slot)
    await store.registerInstance({ id: 'inst', role: 'scheduler', host: 'box', pid: 1, now: slot })
    const [claimed] = await store.claimSlots(
      [{ job: 'sync', slot, trigger: 'schedule', overlap: 'skip' }],
      'inst',
      slot,
    )
    if (claimed?.kind !== 'started') throw new Error('not started')
    cancelledId = claimed.runId
    await store.finishRun(cancelledId, {
      status: 'cancelled',
      finishedAt: slot + 2_000,
      errorMessage: 'cancelled: deploy in progress',
      codeDone: true,
    })
  } finally {
    await store.close()
  }
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe('a cancelled run', () => {
  it('logs shows it with its reason, plain when piped and coloured on a terminal', () => {
    const plain = crons(dir, ['logs'])
    expect(plain.status).toBe(0)
    // The status is not said twice: "cancelled … deploy in progress".
    expect(plain.stdout).toMatch(/ cancelled +.* 2s +deploy in progress$/m)
    expect(plain.stdout).not.toContain('\u001b[')
    const coloured = crons(dir, ['logs'], { FORCE_COLOR: '1' })
    expect(coloured.stdout).toContain('\u001b[33mcancelled\u001b[39m')
  })

  it('--status cancelled selects it; --json gives the status and error', () => {
    const json = JSON.parse(crons(dir, ['logs', '--status', 'cancelled', '--json']).stdout)
    expect(json).toEqual([
      expect.objectContaining({
        id: cancelledId,
        status: 'cancelled',
        durationMs: 2_000,
        error: { message: 'cancelled: deploy in progress' },
      }),
    ])
    expect(JSON.parse(crons(dir, ['logs', '--status', 'failed', '--json']).stdout)).toEqual([])
  })

  it('is the job’s last run in list-jobs, and counted in status', () => {
    const jobs = JSON.parse(crons(dir, ['list-jobs', '--json']).stdout)
    expect(jobs[0]).toMatchObject({ name: 'sync', lastRun: { id: cancelledId, status: 'cancelled' } })
    expect(crons(dir, ['list-jobs']).stdout).toMatch(/sync .*cancelled \d+ ?\w* ago/)
    const status = JSON.parse(crons(dir, ['status', '--json']).stdout)
    expect(status.last24h.counts).toMatchObject({ cancelled: 1, failed: 0 })
    expect(crons(dir, ['status']).stdout).toMatch(/last 24h +1 cancelled/)
  })
})

describe('crons cancel of a failed attempt whose retry waits out its backoff', () => {
  it('records the retry cancelled and prints it as a cancelled run; the retry is then gone', async () => {
    const flakyDir = fs.realpathSync(fs.mkdtempSync(path.join(tmpdir(), 'crons-cancel-retry-')))
    try {
      fs.writeFileSync(path.join(flakyDir, 'crons.config.ts'), CONFIG.replace("'sync'", "'flaky'"))
      const store = await openStore(path.join(flakyDir, 'crons.db'))
      let failedId = 0
      try {
        const slot = Date.now() - 60_000
        await store.syncJobs(['flaky'], slot)
        await store.registerInstance({ id: 'inst', role: 'scheduler', host: 'box', pid: 1, now: slot })
        const [claimed] = await store.claimSlots(
          [{ job: 'flaky', slot, trigger: 'schedule', overlap: 'skip' }],
          'inst',
          slot,
        )
        if (claimed?.kind !== 'started') throw new Error('not started')
        failedId = claimed.runId
        const outcome = { status: 'failed' as const, finishedAt: slot + 1_000, errorMessage: 'boom', codeDone: true }
        await store.finishRun(failedId, { ...outcome, retryAt: Date.now() + 3_600_000 })
      } finally {
        await store.close()
      }
      const cancelled = crons(flakyDir, ['cancel', String(failedId), '--reason', 'enough'])
      expect(cancelled.stderr).toBe('')
      expect(cancelled.status).toBe(0)
      expect(cancelled.stdout).toBe(`Cancelled run ${failedId + 1} of flaky after 0s.\n`)
      const runs = JSON.parse(crons(flakyDir, ['logs', '--json']).stdout)
      expect(runs.map((r: { attempt: number; status: string }) => [r.attempt, r.status])).toEqual([
        [1, 'failed'],
        [2, 'cancelled'],
      ])
      expect(runs[1]).toMatchObject({ id: failedId + 1, error: { message: 'cancelled: enough' } })
      const again = crons(flakyDir, ['cancel', String(failedId)])
      expect(again.stderr).toBe(`error: run ${failedId} of job "flaky" is not running: it ended failed\n`)
    } finally {
      fs.rmSync(flakyDir, { recursive: true, force: true })
    }
  })
})
