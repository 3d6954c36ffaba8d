import { execFile, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { tempDir } from './helpers.js'

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

  it('examples/express-app.ts serves a health check and a run-now route, and stops in order on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/express-app.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '0', CRONS_STATE: ':memory:' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
    })
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    try {
      const deadline = Date.now() + 30_000
      while (!/listening on (http:\/\/\S+)/.test(out) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      const base = /listening on (http:\/\/\S+)/.exec(out)?.[1]
      expect(base).toBeDefined()
      const health = await fetch(`${base}/healthz`)
      expect(await health.json()).toMatchObject({ ok: true })
      const ran = await fetch(`${base}/jobs/send-digest/run`, { method: 'POST' })
      expect(ran.status).toBe(200)
      expect(await ran.json()).toMatchObject({ status: 'succeeded', attempts: 1 })
      const unknown = await fetch(`${base}/jobs/nope/run`, { method: 'POST' })
      expect(unknown.status).toBe(404)
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
      expect(out).toContain('SIGTERM: stopping')
      expect(out.trim().split('\n').at(-1)).toBe('stopped')
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('examples/commonjs-app loads the library with require() and runs a job', async () => {
    const app = path.join(root, 'examples', 'commonjs-app')
    const dir = tempDir()
    for (const file of fs.readdirSync(app)) fs.copyFileSync(path.join(app, file), path.join(dir, file))
    // What `npm install` does with its "cronsjs": "file:../.." dependency.
    fs.mkdirSync(path.join(dir, 'node_modules'))
    fs.symlinkSync(root, path.join(dir, 'node_modules', 'cronsjs'), 'dir')
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).type).toBe('commonjs')
    const { stdout, stderr } = await run(process.execPath, ['app.js'], { cwd: dir })
    expect(stdout.trim().split('\n')).toEqual([
      'next send-digest at 08:00 UTC',
      'send-digest (manual): succeeded',
      'result: succeeded',
      'refused: JOB_UNKNOWN',
    ])
    expect(stderr).toBe('')
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
      'disk-usage',
      'old-import',
    ])
    expect(config.jobs[2]).toMatchObject({
      schedule: '0 3 * * *',
      zone: 'America/Argentina/Buenos_Aires',
      catchUp: true,
    })
    expect(config.jobs[4]).toMatchObject({ command: { command: 'df -h . | tail -n 1' }, disabled: false })
    expect(config.jobs[5]).toMatchObject({ disabled: true, nextRun: null })
  })
})

describe('the published types', () => {
  it('type-check in a project without @types/node: typed events, config and errors', async () => {
    const dir = tempDir({
      'tsconfig.json': JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          // Nothing from node_modules/@types: the user's project may not have @types/node.
          types: [],
          skipLibCheck: false,
        },
        files: ['app.ts'],
      }),
      'package.json': JSON.stringify({ type: 'module' }),
      'app.ts': `
import { createScheduler, defineConfig, isCronsError, type RunFinishedEvent } from 'cronsjs'
const config = defineConfig({ state: ':memory:', jobs: [{ name: 'a', schedule: '* * * * *', run: (ctx) => ctx.attempt }] })
const scheduler = createScheduler(config)
scheduler.events.on('run:finished', (e) => {
  const finished: RunFinishedEvent = e
  const ms: number = finished.durationMs
  return ms
})
// @ts-expect-error: not an event of the engine
scheduler.events.on('run:finish', () => {})
// @ts-expect-error: not a key of a job
defineConfig({ jobs: [{ name: 'b', schedul: '* * * * *', run: () => {} }] })
defineConfig({ jobs: [{ name: 'c', every: '1h', command: ['node', 'x.js'], cwd: 'scripts', env: { A: '1' }, enabled: false }] })
// @ts-expect-error: a job's work is a function or a command, not both
defineConfig({ jobs: [{ name: 'd', every: '1h', command: 'true', run: () => {} }] })
// @ts-expect-error: cwd is for a command
defineConfig({ jobs: [{ name: 'e', every: '1h', cwd: 'scripts', run: () => {} }] })
try {
  await scheduler.runJob('a')
} catch (error) {
  if (isCronsError(error)) console.error(error.code, error.message)
}
`,
    })
    fs.mkdirSync(path.join(dir, 'node_modules'))
    fs.symlinkSync(root, path.join(dir, 'node_modules', 'cronsjs'), 'dir')
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
    const result = await run(process.execPath, [tsc, '-p', dir], { cwd: dir }).catch((error) => error)
    expect(`${result.stdout ?? ''}${result.stderr ?? ''}`).toBe('')
  }, 60_000)
})
