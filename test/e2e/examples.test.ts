import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../..', import.meta.url))

// The examples the README and docs point at are real files; these tests keep them working.
describe('examples', () => {
  it('examples/embedded.ts runs a job through the library with a retry', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/embedded.ts'], { cwd: root })
    expect(stdout.trim().split('\n')).toEqual([
      'refresh-cache attempt 1: failed (cache backend not ready)',
      'refresh-cache attempt 2: succeeded',
      'result: succeeded after 2 attempts',
    ])
  })

  it('examples/crons.config.ts (the quick start) loads and validates', async () => {
    const { stdout } = await run(
      process.execPath,
      ['bin/run.js', 'config', '--config', 'examples/crons.config.ts', '--json'],
      {
        cwd: root,
      },
    )
    const config = JSON.parse(stdout)
    expect(config.jobs.map((j: { name: string }) => j.name)).toEqual([
      'heartbeat',
      'flaky-sync',
      'backup',
      'weekly-report',
    ])
    expect(config.jobs[2]).toMatchObject({
      schedule: '0 3 * * *',
      zone: 'America/Argentina/Buenos_Aires',
      catchUp: true,
    })
  })
})
