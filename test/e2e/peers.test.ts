/**
 * A second scheduler on the same state file is a peer, and says so: its start-up summary and
 * `crons status` count the schedulers sharing the state and say each slot runs once among them.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { processScope, runCli, tempDir, useBuiltCli } from './helpers.js'

useBuiltCli()

const CONFIG = `import { defineConfig } from 'crons'
export default defineConfig({
  state: './state.db',
  timezone: 'UTC',
  jobs: [{ name: 'hourly', schedule: '0 * * * *', run: () => undefined }],
})
`

describe('schedulers sharing one state file', () => {
  it('the second says it is a peer of the first; status counts both and says each slot runs once', async ({
    onTestFinished,
  }) => {
    const procs = processScope(onTestFinished)
    const cwd = tempDir({ 'crons.config.ts': CONFIG })
    const first = procs.start(['start-scheduler'], { cwd })
    await first.waitForLine(/^ {2}instance {2}\S+$/, 30_000)
    expect(first.stdout).not.toMatch(/peers/)

    const second = procs.start(['start-scheduler'], { cwd })
    const peers = await second.waitForLine(/^ {2}peers {5}/, 30_000)
    expect(peers).toMatch(
      /^ {2}peers {5}1 other scheduler shares this state \(\S+ pid \d+\): each slot runs once among the 2$/,
    )

    const third = procs.start(['start-scheduler', '--log-format', 'json'], { cwd })
    const banner = JSON.parse(await third.waitForLine(/"event":"started"/, 30_000)) as {
      peers: { id: string; host: string; pid: number }[]
      jobs: { name: string; nextRun: string | null }[]
    }
    expect(banner.peers).toHaveLength(2)
    expect(banner.jobs[0]).toMatchObject({ name: 'hourly', nextRun: expect.stringMatching(/:00:00\.000Z$/) })

    const status = await runCli(['status'], { cwd })
    expect(status.code).toBe(0)
    expect(status.stdout).toMatch(/^sharing {5}3 schedulers share this state: each slot runs once among them$/m)
    const json = await runCli(['status', '--json'], { cwd })
    const view = JSON.parse(json.stdout) as { instances: { alive: boolean }[] }
    expect(view.instances.filter((i) => i.alive)).toHaveLength(3)

    for (const proc of [first, second, third]) proc.signal('SIGTERM')
    for (const proc of [first, second, third]) expect((await proc.waitExit(20_000)).code).toBe(0)
    expect(fs.existsSync(path.join(cwd, 'state.db'))).toBe(true)
  }, 90_000)
})
