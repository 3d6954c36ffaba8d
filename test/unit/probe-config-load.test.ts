import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfigModule, resolveConfig } from '../../src/config/loader.js'
import { CronsError } from '../../src/errors.js'

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..')
const temps: string[] = []

/** Loads a config in a plain Node process (as bin/dev.js and the CLI do), outside vitest's module runner. */
function loadInNode(path: string): string {
  const worker = join(REPO, 'test/fixtures/config/worker/load-config.ts')
  try {
    return execFileSync(process.execPath, ['--import', 'tsx', worker, path], { cwd: REPO, encoding: 'utf8' }).trim()
  } catch (error) {
    return (
      String((error as { stderr?: string }).stderr)
        .split('\n')
        .find((line) => line.startsWith('CronsError:')) ?? ''
    )
  }
}
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true })
})

function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'crons-probe-'))
  temps.push(dir)
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

async function rejection(promise: Promise<unknown>): Promise<CronsError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof CronsError) return error
    throw error
  }
  throw new Error('expected a CronsError')
}

describe('probe: loading configs as Node would', () => {
  it('a config may import a local CommonJS helper that requires a builtin', async () => {
    const dir = tempDir({
      'legacy.cjs': "const fs = require('node:fs')\nmodule.exports = { state: fs.existsSync('/') ? 'cjs.db' : 'x' }\n",
      'crons.config.mjs': "import legacy from './legacy.cjs'\nexport default { state: legacy.state, jobs: [] }\n",
    })
    // Plain Node imports this config; vitest's module runner hides the problem (it supplies a require).
    expect(loadInNode(join(dir, 'crons.config.mjs'))).toBe('{"state":"cjs.db","jobs":[]}')
  })

  it('import.meta.resolve of a relative path resolves next to the config, not in the cache', async () => {
    const dir = tempDir({
      'scripts/report.mjs': 'export {}\n',
      'crons.config.mjs': "export default { script: import.meta.resolve('./scripts/report.mjs'), jobs: [] }\n",
    })
    const expected = pathToFileURL(join(realpathSync(dir), 'scripts/report.mjs')).href
    const config = (await loadConfigModule(join(dir, 'crons.config.mjs'))) as { script: string }
    expect(config.script).toBe(expected)
  })

  it('an error with an empty message (a Node AggregateError) is not reported as "{}"', async () => {
    const dir = tempDir({
      'crons.config.mjs':
        "throw new AggregateError([new Error('connect ECONNREFUSED ::1:5432'), new Error('connect ECONNREFUSED 127.0.0.1:5432')])\n" +
        'export default { jobs: [] }\n',
    })
    const error = await rejection(resolveConfig({ cwd: dir, env: {} }))
    expect(error.code).toBe('CONFIG_LOAD')
    expect(error.message).not.toMatch(/loading: \{\}$/)
  })
})

describe('probe: the cache and tsconfig', () => {
  it('an edit in a tsconfig that the nearest tsconfig.json extends is seen', async () => {
    const dir = tempDir({
      'tsconfig.json': '{ "extends": "./tsconfig.base.json" }\n',
      'tsconfig.base.json': '{ "compilerOptions": { "baseUrl": ".", "paths": { "@lib/*": ["lib-a/*"] } } }\n',
      'lib-a/state.ts': "export const state: string = 'a.db'\n",
      'lib-b/state.ts': "export const state: string = 'b.db'\n",
      'crons.config.ts': "import { state } from '@lib/state'\nexport default { state, jobs: [] }\n",
    })
    const path = join(dir, 'crons.config.ts')
    expect(await loadConfigModule(path)).toMatchObject({ state: 'a.db' })
    writeFileSync(
      join(dir, 'tsconfig.base.json'),
      '{ "compilerOptions": { "baseUrl": ".", "paths": { "@lib/*": ["lib-b/*"] } } }\n',
    )
    expect(await loadConfigModule(path)).toMatchObject({ state: 'b.db' })
  })
})
