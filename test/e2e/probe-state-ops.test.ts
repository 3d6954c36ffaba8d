/**
 * Probes (state-ops area), real processes sharing one state file: cancel of a scheduler's run, pause
 * and resume of a scheduler's job, from other processes.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { openStore } from '../../src/store/index.js'
import { processScope, readRuns, runCli, tempDir, useBuiltCli, waitUntil } from './helpers.js'

useBuiltCli()

const CONFIG = `import { defineConfig } from 'cronsjs'
export default defineConfig({
  state: './state.db',
  timezone: 'UTC',
  jobs: [
    {
      name: 'long',
      schedule: '* * * * * *',
      retry: { max: 2, initial: '1s' },
      run: (ctx) =>
        new Promise((_, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))
        }),
    },
    { name: 'tick', schedule: '* * * * * *', run: () => 'ok' },
  ],
})
`

describe.concurrent('probe: commands against a scheduler in another process', () => {
  it('cancel RUN_ID of a scheduler run: recorded cancelled at its heartbeat, no retry; then "ended cancelled"', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const state = path.join(cwd, 'state.db')
    const scheduler = procs.start(['start-scheduler', '--heartbeat', '1s', '--instance-ttl', '5s'], { cwd })
    const running = await waitUntil(
      async () => (await readRuns(state)).find((r) => r.job === 'long' && r.status === 'running'),
      20_000,
      'a run of long',
    )
    const cancelled = await runCli(['cancel', String(running.id), '--reason', 'probe', '--wait', '15'], { cwd })
    expect(cancelled.stderr).toBe('')
    expect(cancelled.code).toBe(0)
    const after = (await readRuns(state)).filter((r) => r.job === 'long' && r.slot === running.slot)
    expect(after.map((r) => [r.id, r.status, r.errorMessage])).toEqual([[running.id, 'cancelled', 'cancelled: probe']])
    const again = await runCli(['cancel', String(running.id)], { cwd })
    expect(again.stderr).toBe(`error: run ${running.id} of job "long" is not running: it ended cancelled\n`)
    // 'long' ignores a stop until its grace ends: the second SIGTERM stops at once.
    scheduler.signal('SIGTERM')
    await scheduler.waitForLine('SIGTERM: stopping')
    scheduler.signal('SIGTERM')
    expect((await scheduler.waitExit(20_000)).code).toBe(0)
  }, 90_000)

  it('pause-job then resume-job while it runs: slots after the pause are skipped, after the resume they run', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const state = path.join(cwd, 'state.db')
    const scheduler = procs.start(['start-scheduler'], { cwd })
    await waitUntil(
      async () => (await readRuns(state)).some((r) => r.job === 'tick' && r.status === 'succeeded'),
      20_000,
      'a run of tick',
    )
    const paused = await runCli(['pause-job', 'tick'], { cwd })
    expect(paused.code, paused.stderr).toBe(0)
    const pausedAt = Date.now()
    const skipped = await waitUntil(
      async () => (await readRuns(state)).find((r) => r.job === 'tick' && r.status === 'skipped' && r.slot > pausedAt),
      20_000,
      'a skipped slot of tick',
    )
    // No tick slot after the pause (plus the claim-ahead lead) ran.
    const ranWhilePaused = (await readRuns(state)).filter(
      (r) => r.job === 'tick' && r.status !== 'skipped' && r.slot > pausedAt + 1000,
    )
    expect(ranWhilePaused).toEqual([])
    const resumed = await runCli(['resume-job', 'tick'], { cwd })
    expect(resumed.code, resumed.stderr).toBe(0)
    const resumedAt = Date.now()
    await waitUntil(
      async () =>
        (await readRuns(state)).some((r) => r.job === 'tick' && r.status === 'succeeded' && r.slot > resumedAt),
      20_000,
      'a run of tick after the resume',
    )
    expect(skipped.detail).toMatch(/"paused":true/)
    // 'long' ignores a stop until its grace ends: the second SIGTERM stops at once.
    scheduler.signal('SIGTERM')
    await scheduler.waitForLine('SIGTERM: stopping')
    scheduler.signal('SIGTERM')
    expect((await scheduler.waitExit(20_000)).code).toBe(0)
  }, 90_000)

  it('SIGTERM while a job runs within shutdownGrace, a peer on the file: the job ends in the grace and is recorded succeeded', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir({
      'crons.config.ts': `import fs from 'node:fs'
export default {
  state: './state.db',
  timezone: 'UTC',
  shutdownGrace: '60s',
  jobs: [{
    name: 'slow',
    schedule: '* * * * * *',
    run: async () => { while (!fs.existsSync('done')) await new Promise((r) => setTimeout(r, 50)); return 'finished' },
  }],
}
`,
      'peer.config.ts': `export default { state: './state.db', timezone: 'UTC', jobs: [{ name: 'other', schedule: '0 0 1 1 *', run() {} }] }
`,
    })
    const state = path.join(cwd, 'state.db')
    const lease = ['--heartbeat', '1s', '--instance-ttl', '3s']
    const owner = procs.start(['start-scheduler', ...lease], { cwd })
    const running = await waitUntil(
      async () => (await readRuns(state)).find((r) => r.job === 'slow' && r.status === 'running'),
      20_000,
      'a run of slow',
    )
    const peer = procs.start(['start-scheduler', '-c', 'peer.config.ts', ...lease], { cwd })
    await peer.waitForLine('crons scheduler started')
    owner.signal('SIGTERM')
    await owner.waitForLine('SIGTERM: stopping')
    // The peer has heartbeaten for more than a lease since the owner's stop began.
    const stopAt = Date.now()
    await waitUntil(
      async () => {
        const store = await openStore(state, { readonly: true })
        try {
          const peerBeat = (await store.listInstances()).find(
            (i) => i.id !== running.instanceId && i.stoppedAt === null,
          )
          return peerBeat !== undefined && peerBeat.heartbeatAt > stopAt + 5_000
        } finally {
          await store.close()
        }
      },
      20_000,
      "the peer's heartbeat a lease past the stop",
    )
    fs.writeFileSync(path.join(cwd, 'done'), '')
    expect((await owner.waitExit(20_000)).code).toBe(0)
    const run = (await readRuns(state)).find((r) => r.id === running.id)
    expect([run?.status, run?.errorMessage]).toEqual(['succeeded', null])
    peer.signal('SIGTERM')
    expect((await peer.waitExit(20_000)).code).toBe(0)
  }, 90_000)
})
