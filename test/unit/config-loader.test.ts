import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { findConfigFile, loadConfigModule, resolveConfig } from '../../src/config/loader.js'
import type { JobContext } from '../../src/config/types.js'
import { CronsError } from '../../src/errors.js'

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const FIXTURES = join(REPO, 'test/fixtures/config')
const EXPECTED_EXPORT = 'expected export default defineConfig({ jobs: [...] })'
const temps: string[] = []

afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true })
})

/** A fresh directory outside the repo: no node_modules, no package.json anywhere above it. */
function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'crons-config-'))
  temps.push(dir)
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

/** A config that needs nothing from 'crons', so precedence tests do not pay for loading the library. */
function plainConfig(extra = ''): string {
  return `export default { ${extra} jobs: [{ name: 'plain', schedule: '@daily', run() {} }] }\n`
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

describe('findConfigFile', () => {
  it('prefers .ts, then .mts, .js, .mjs', () => {
    const names = ['crons.config.ts', 'crons.config.mts', 'crons.config.js', 'crons.config.mjs']
    const dir = tempDir(Object.fromEntries(names.map((name) => [name, plainConfig()])))
    for (const name of names) {
      expect(findConfigFile(dir)).toBe(join(dir, name))
      rmSync(join(dir, name))
    }
    expect(findConfigFile(dir)).toBeUndefined()
  })

  it('ignores a directory with a config file name', () => {
    const dir = tempDir({ 'crons.config.ts/readme.txt': '', 'crons.config.mjs': plainConfig() })
    expect(findConfigFile(dir)).toBe(join(dir, 'crons.config.mjs'))
  })
})

describe('loadConfigModule', () => {
  it('loads a TypeScript config that imports crons and a sibling .ts module', async () => {
    const config = (await loadConfigModule(join(FIXTURES, 'ts/crons.config.ts'))) as {
      jobs: Array<{ name: string; run: (ctx: JobContext) => unknown }>
    }
    expect(config.jobs.map((job) => job.name)).toEqual(['backup', 'poll'])
    expect(config.jobs[0]?.run({ job: { name: 'backup', tags: [] } } as unknown as JobContext)).toBe(
      'hello from backup',
    )
  })

  it('loads an .mjs config', async () => {
    const config = (await loadConfigModule(join(FIXTURES, 'mjs/crons.config.mjs'))) as { state: string }
    expect(config.state).toBe(':memory:')
  })

  it('loads a .js config with ESM syntax and no package.json', async () => {
    const dir = tempDir({ 'crons.config.js': plainConfig("state: 'js.db',") })
    expect(await loadConfigModule(join(dir, 'crons.config.js'))).toMatchObject({ state: 'js.db' })
  })

  it('loads an .mts config that uses top-level await', async () => {
    const source = "const state: string = await Promise.resolve('tla.db')\nexport default { state, jobs: [] }\n"
    const dir = tempDir({ 'crons.config.mts': source })
    expect(await loadConfigModule(join(dir, 'crons.config.mts'))).toEqual({ state: 'tla.db', jobs: [] })
  })

  it('awaits a default export that is a promise', async () => {
    const dir = tempDir({ 'crons.config.mjs': 'export default Promise.resolve({ jobs: [] })\n' })
    expect(await loadConfigModule(join(dir, 'crons.config.mjs'))).toEqual({ jobs: [] })
  })

  it('sees edits when the same file is loaded again', async () => {
    const dir = tempDir({ 'crons.config.mjs': plainConfig("state: 'one.db',") })
    const path = join(dir, 'crons.config.mjs')
    expect(await loadConfigModule(path)).toMatchObject({ state: 'one.db' })
    writeFileSync(path, plainConfig("state: 'two.db',"))
    expect(await loadConfigModule(path)).toMatchObject({ state: 'two.db' })
  })

  it('reports a syntax error as file:line:col', async () => {
    const dir = tempDir()
    copyFileSync(join(FIXTURES, 'bad-syntax/crons.config.ts.txt'), join(dir, 'crons.config.ts'))
    const error = await rejection(loadConfigModule(join(dir, 'crons.config.ts'), { displayPath: 'crons.config.ts' }))
    expect(error.code).toBe('CONFIG_SYNTAX')
    expect(error.message).toMatch(/^crons\.config\.ts:5:22: Unexpected token/)
    expect(error.message).not.toContain('\n')
    expect(error.cause).toBeInstanceOf(Error)
  })

  it('names the imported file that has the syntax error', async () => {
    const dir = tempDir()
    copyFileSync(join(FIXTURES, 'bad-syntax/imports-broken.ts.txt'), join(dir, 'crons.config.ts'))
    copyFileSync(join(FIXTURES, 'bad-syntax/broken.ts.txt'), join(dir, 'broken.ts'))
    const error = await rejection(resolveConfig({ cwd: dir, env: {} }))
    expect(error.code).toBe('CONFIG_SYNTAX')
    expect(error.message).toMatch(/^broken\.ts:2:\d+: .+ \(while loading crons\.config\.ts\)$/)
  })

  it('reports only named exports', async () => {
    const error = await rejection(
      loadConfigModule(join(FIXTURES, 'named-only/crons.config.ts'), { displayPath: 'x.ts' }),
    )
    expect(error.code).toBe('CONFIG_EXPORT')
    expect(error.message).toBe(`x.ts: no default export (found only named exports (config)); ${EXPECTED_EXPORT}`)
  })

  it('reports a file with no exports', async () => {
    const error = await rejection(loadConfigModule(join(FIXTURES, 'empty/crons.config.ts'), { displayPath: 'x.ts' }))
    expect(error.message).toBe(`x.ts: no default export (found no exports); ${EXPECTED_EXPORT}`)
  })

  it('reports a config that throws while loading, with the cause attached', async () => {
    const error = await rejection(loadConfigModule(join(FIXTURES, 'throws/crons.config.ts'), { displayPath: 'x.ts' }))
    expect(error.code).toBe('CONFIG_LOAD')
    expect(error.message).toBe('x.ts: the config threw while loading: CRONS_FIXTURE_DATABASE_URL_NEVER_SET is not set')
    expect((error.cause as Error).message).toBe('CRONS_FIXTURE_DATABASE_URL_NEVER_SET is not set')
  })

  it('reports an import that cannot be found as a load error, on one line', async () => {
    const dir = tempDir({ 'crons.config.mjs': "import { x } from './missing.mjs'\nexport default x\n" })
    const error = await rejection(loadConfigModule(join(dir, 'crons.config.mjs'), { displayPath: 'crons.config.mjs' }))
    expect(error.code).toBe('CONFIG_LOAD')
    expect(error.message).toMatch(
      /^crons\.config\.mjs: the config threw while loading: Cannot find module '\.\/missing\.mjs'$/,
    )
  })

  it('reports a missing file', async () => {
    const error = await rejection(loadConfigModule('/nonexistent/crons.config.ts'))
    expect(error.code).toBe('CONFIG_NOT_FOUND')
    expect(error.message).toBe('config file not found: /nonexistent/crons.config.ts')
  })
})

describe('resolveConfig', () => {
  it('loads a config outside any project, importing defineConfig from "crons"', async () => {
    const dir = tempDir()
    copyFileSync(join(FIXTURES, 'outside/crons.config.ts'), join(dir, 'crons.config.ts'))
    expect(existsSync(join(dir, 'node_modules'))).toBe(false)
    const config = await resolveConfig({ cwd: dir, env: {} })
    expect(config.configPath).toBe(join(dir, 'crons.config.ts'))
    expect(config.statePath).toBe(join(dir, 'crons.db'))
    expect(config.jobs.map((job) => [job.name, job.scheduleText, job.zone])).toEqual([
      ['outside', '*/5 * * * *', 'UTC'],
    ])
  })

  it('resolves the TypeScript fixture end to end', async () => {
    const config = await resolveConfig({ cwd: join(FIXTURES, 'ts'), env: {} })
    expect(config.statePath).toBe(join(FIXTURES, 'ts/data/state.db'))
    expect(config.shutdownGraceMs).toBe(10_000)
    expect(config.sources).toEqual({ state: 'file', timezone: 'file', shutdownGrace: 'file', history: 'default' })
    expect(config.jobs.map((job) => [job.name, job.scheduleText, job.zone, job.retry.max])).toEqual([
      ['backup', '0 3 * * *', 'Europe/Berlin', 2],
      ['poll', 'every 5m', 'UTC', 0],
    ])
  })

  it('names the file, relative to cwd, in validation problems', async () => {
    const error = await rejection(resolveConfig({ cwd: REPO, configFlag: 'test/fixtures/config/invalid', env: {} }))
    const file = 'test/fixtures/config/invalid/crons.config.ts'
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.message).toBe(`${file}: 3 problems in the config`)
    expect(error.details[1]).toBe(
      `${file}: job "report" (jobs[1]) name: duplicate job name "report" (already used by jobs[0]; names must be unique)`,
    )
    expect(error.details[2]).toBe(
      `${file}: job "report" (jobs[1]) tz: unknown time zone "Europe/Pariss" (did you mean "Europe/Paris"?)`,
    )
  })

  it('reports a default export that is not a config', async () => {
    const error = await rejection(resolveConfig({ cwd: join(FIXTURES, 'not-object'), env: {} }))
    expect(error.code).toBe('CONFIG_EXPORT')
    expect(error.message).toBe(
      `crons.config.ts: the config is "crons.config.ts should export an object", not an object; ${EXPECTED_EXPORT}`,
    )
  })

  it('says where it looked when there is no config', async () => {
    const dir = tempDir()
    const error = await rejection(resolveConfig({ cwd: dir, env: {} }))
    expect(error.code).toBe('CONFIG_NOT_FOUND')
    expect(error.message).toBe(`no crons.config.ts, .mts, .js or .mjs in ${dir}`)
    expect(error.suggestions).toEqual(['pass --config PATH or set CRONS_CONFIG'])
  })

  it.each([
    [{ configFlag: 'nope.ts' }, 'config file not found: nope.ts (from --config)'],
    [{ env: { CRONS_CONFIG: 'nope.ts' } }, 'config file not found: nope.ts (from CRONS_CONFIG)'],
  ])('names the flag or variable that pointed at a missing file: %j', async (options, message) => {
    const error = await rejection(resolveConfig({ cwd: tempDir(), env: {}, ...options }))
    expect(error.code).toBe('CONFIG_NOT_FOUND')
    expect(error.message).toBe(message)
  })

  it('refuses an empty --config', async () => {
    const error = await rejection(resolveConfig({ cwd: tempDir(), env: {}, configFlag: '' }))
    expect(error.code).toBe('FLAG_INVALID')
  })

  describe('precedence: flag > env > file > default', () => {
    const root = tempDir({
      'crons.config.mjs': plainConfig("state: './found.db',"),
      'flag/crons.config.mjs': plainConfig("state: './flag-config.db', timezone: 'Asia/Tokyo',"),
      'env/crons.config.mjs': plainConfig(''),
    })

    it('--config beats CRONS_CONFIG beats the search', async () => {
      const env = { CRONS_CONFIG: 'env/crons.config.mjs' }
      const byFlag = await resolveConfig({ cwd: root, env, configFlag: 'flag/crons.config.mjs' })
      expect(byFlag.configPath).toBe(join(root, 'flag/crons.config.mjs'))
      const byEnv = await resolveConfig({ cwd: root, env })
      expect(byEnv.configPath).toBe(join(root, 'env/crons.config.mjs'))
      const found = await resolveConfig({ cwd: root, env: {} })
      expect(found.configPath).toBe(join(root, 'crons.config.mjs'))
    })

    it('--config may name a directory to search', async () => {
      const config = await resolveConfig({ cwd: root, env: {}, configFlag: 'flag' })
      expect(config.configPath).toBe(join(root, 'flag/crons.config.mjs'))
    })

    it('--state beats CRONS_STATE beats the file beats the default, and says which won', async () => {
      const cwd = join(root, 'flag')
      const env = { CRONS_STATE: 'env.db' }
      const cases = [
        [{ env, stateFlag: 'cli.db' }, join(cwd, 'cli.db'), 'flag'],
        [{ env }, join(cwd, 'env.db'), 'env'],
        [{ env: { CRONS_STATE: '' } }, join(cwd, 'flag-config.db'), 'file'],
        [{ env: {}, configFlag: join(root, 'env') }, join(root, 'env/crons.db'), 'default'],
      ] as const
      for (const [options, statePath, source] of cases) {
        const config = await resolveConfig({ cwd, ...options })
        expect([config.statePath, config.sources.state]).toEqual([statePath, source])
      }
    })

    it('reports timezone, shutdownGrace and history sources', async () => {
      const config = await resolveConfig({ cwd: join(root, 'flag'), env: {} })
      expect(config.timezone).toBe('Asia/Tokyo')
      expect(config.sources).toEqual({ state: 'file', timezone: 'file', shutdownGrace: 'default', history: 'default' })
    })
  })
})
