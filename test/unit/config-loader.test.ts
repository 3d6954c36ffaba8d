import { execFileSync, spawn } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { configCacheStats } from '../../src/config/bundle.js'
import { configSources, findConfigFile, loadConfigModule, resolveConfig } from '../../src/config/loader.js'
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

/** A config that needs nothing from 'cronsjs', so precedence tests do not pay for loading the library. */
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
    expect(error.message).toMatch(/^crons\.config\.ts:5:22: Expected "}" but found "schedule"$/)
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

  it("names an error with no message by what it carries (Node's AggregateError for a refused connection)", async () => {
    const dir = tempDir({
      'crons.config.mjs':
        "const inner = (host) => Object.assign(new Error('connect ECONNREFUSED ' + host + ':5432'), { code: 'ECONNREFUSED' })\n" +
        "throw Object.assign(new AggregateError([inner('::1'), inner('127.0.0.1')]), { code: 'ECONNREFUSED' })\n",
      'blank-first.mjs': "throw new Error('\\n  no DATABASE_URL set\\n  see the README')\n",
      'bare.mjs': 'throw new RangeError()\n',
    })
    const message = async (file: string) =>
      (await rejection(loadConfigModule(join(dir, file), { displayPath: file }))).message
    expect(await message('crons.config.mjs')).toBe(
      'crons.config.mjs: the config threw while loading: AggregateError [ECONNREFUSED]: connect ECONNREFUSED ::1:5432',
    )
    expect(await message('blank-first.mjs')).toBe(
      'blank-first.mjs: the config threw while loading: no DATABASE_URL set',
    )
    expect(await message('bare.mjs')).toBe('bare.mjs: the config threw while loading: RangeError')
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

describe('the compiled-config cache', () => {
  /** Loads `path` and says whether that took a build (esbuild) or was served from the cache. */
  async function load(path: string): Promise<{ value: unknown; built: boolean }> {
    const builds = configCacheStats.builds
    const value = await loadConfigModule(path)
    return { value, built: configCacheStats.builds > builds }
  }

  /** A tiny ESM package in `dir`/node_modules. */
  function fakePackage(dir: string): void {
    const pkg = join(dir, 'node_modules/fake-greeter')
    mkdirSync(pkg, { recursive: true })
    writeFileSync(join(pkg, 'package.json'), '{ "name": "fake-greeter", "type": "module", "exports": "./index.js" }\n')
    writeFileSync(join(pkg, 'index.js'), "export const greet = (name) => 'hi ' + name\n")
  }

  const importsPackage = "import { greet } from 'fake-greeter'\nexport default { state: greet('pkg'), jobs: [] }\n"

  it('serves an unchanged config from the cache, without esbuild', async () => {
    const dir = tempDir({ 'crons.config.ts': plainConfig("state: 'cached.db',") })
    const path = join(dir, 'crons.config.ts')
    expect(await load(path)).toMatchObject({ built: true, value: { state: 'cached.db' } })
    expect(await load(path)).toMatchObject({ built: false, value: { state: 'cached.db' } })
  })

  it('rebuilds when the config, or a file it imports, changes (even within the same mtime tick)', async () => {
    const dir = tempDir({
      'crons.config.ts': "import { state } from './lib/state.js'\nexport default { state, jobs: [] }\n",
      'lib/state.ts': "export const state: string = 'one.db'\n",
    })
    const path = join(dir, 'crons.config.ts')
    expect(await load(path)).toMatchObject({ built: true, value: { state: 'one.db' } })
    // Same size, written at once: only the content tells the files apart.
    writeFileSync(join(dir, 'lib/state.ts'), "export const state: string = 'two.db'\n")
    expect(await load(path)).toMatchObject({ built: true, value: { state: 'two.db' } })
    writeFileSync(path, "import { state } from './lib/state.js'\nexport default { state, jobs: [1] }\n")
    expect(await load(path)).toMatchObject({ built: true, value: { state: 'two.db', jobs: [1] } })
    expect(await load(path)).toMatchObject({ built: false })
  })

  it('sees a config that is a symlink re-pointed, or replaced by a regular file (sed -i, an editor)', async () => {
    const dir = tempDir({ 'a.mjs': plainConfig("state: 'a.db',"), 'b.mjs': plainConfig("state: 'b.db',") })
    const path = join(dir, 'crons.config.mjs')
    symlinkSync('a.mjs', path)
    expect(await load(path)).toMatchObject({ built: true, value: { state: 'a.db' } })
    expect(await load(path)).toMatchObject({ built: false, value: { state: 'a.db' } })
    unlinkSync(path)
    symlinkSync('b.mjs', path)
    expect(await load(path)).toMatchObject({ built: true, value: { state: 'b.db' } })
    unlinkSync(path)
    writeFileSync(path, plainConfig("state: 'c.db',"))
    expect(await load(path)).toMatchObject({ built: true, value: { state: 'c.db' } })
    expect(await load(path)).toMatchObject({ built: false, value: { state: 'c.db' } })
  })

  it('sees a symlinked import re-pointed to another file', async () => {
    const dir = tempDir({
      'crons.config.mjs': "import { state } from './current.mjs'\nexport default { state, jobs: [] }\n",
      'v1.mjs': "export const state = 'one.db'\n",
      'v2.mjs': "export const state = 'two.db'\n",
    })
    symlinkSync('v1.mjs', join(dir, 'current.mjs'))
    const path = join(dir, 'crons.config.mjs')
    expect(await load(path)).toMatchObject({ built: true, value: { state: 'one.db' } })
    expect(await load(path)).toMatchObject({ built: false })
    unlinkSync(join(dir, 'current.mjs'))
    symlinkSync('v2.mjs', join(dir, 'current.mjs'))
    expect(await load(path)).toMatchObject({ built: true, value: { state: 'two.db' } })
  })

  it('sees a new file that now wins an extensionless import (lib.ts beside lib/index.ts), and --watch follows it', async () => {
    const dir = tempDir({
      'crons.config.ts': "import { state } from './lib'\nexport default { state, jobs: [] }\n",
      'lib/index.ts': "export const state: string = 'index.db'\n",
    })
    const path = join(dir, 'crons.config.ts')
    expect(await load(path)).toMatchObject({ built: true, value: { state: 'index.db' } })
    expect(await load(path)).toMatchObject({ built: false })
    expect(configSources(path)?.pending).toContain(join(dir, 'lib.ts'))
    writeFileSync(join(dir, 'lib.ts'), "export const state: string = 'file.db'\n")
    expect(await load(path)).toMatchObject({ built: true, value: { state: 'file.db' } })
    expect(await load(path)).toMatchObject({ built: false })
  })

  it('rebuilds when a tsconfig that the nearest tsconfig.json extends changes', async () => {
    const paths = (lib: string) => `{ "compilerOptions": { "baseUrl": ".", "paths": { "@lib/*": ["${lib}/*"] } } }\n`
    const dir = tempDir({
      'tsconfig.json': '{ "extends": ["./base/tsconfig.json"] }\n',
      'base/tsconfig.json': '{\n  // comments are allowed\n  "extends": "../tsconfig.paths"\n}\n',
      'tsconfig.paths.json': paths('lib-a'),
      'lib-a/state.ts': "export const state: string = 'a.db'\n",
      'lib-b/state.ts': "export const state: string = 'b.db'\n",
      'crons.config.ts': "import { state } from '@lib/state'\nexport default { state, jobs: [] }\n",
    })
    const path = join(dir, 'crons.config.ts')
    expect(await load(path)).toMatchObject({ built: true, value: { state: 'a.db' } })
    expect(await load(path)).toMatchObject({ built: false })
    writeFileSync(join(dir, 'tsconfig.paths.json'), paths('lib-b'))
    expect(await load(path)).toMatchObject({ built: true, value: { state: 'b.db' } })
  })

  it('resolves a bare import from the node_modules next to the config, and caches there', async () => {
    const dir = tempDir({ 'crons.config.ts': importsPackage })
    fakePackage(dir)
    const path = join(dir, 'crons.config.ts')
    expect(await load(path)).toMatchObject({ built: true, value: { state: 'hi pkg' } })
    expect(readdirSync(join(dir, 'node_modules/.cache/crons')).filter((name) => name.endsWith('.json'))).toHaveLength(1)
    expect(await load(path)).toMatchObject({ built: false, value: { state: 'hi pkg' } })
  })

  it('falls back to the temp dir when node_modules cannot be written, and bare imports still resolve', async () => {
    const dir = tempDir({
      'crons.config.ts': importsPackage,
      'node_modules/.cache': 'a file, so no directory fits here',
    })
    fakePackage(dir)
    const path = join(dir, 'crons.config.ts')
    expect(await load(path)).toMatchObject({ built: true, value: { state: 'hi pkg' } })
    expect(await load(path)).toMatchObject({ built: false, value: { state: 'hi pkg' } })
  })

  it('gives each file its own import.meta.url, import.meta.dirname, import.meta.resolve and __dirname', async () => {
    const dir = tempDir({
      'crons.config.ts': [
        "import { readFileSync } from 'node:fs'",
        "import { helper } from './lib/helper.js'",
        'export default {',
        '  url: import.meta.url, dirname: import.meta.dirname, filename: import.meta.filename, cjs: __dirname,',
        "  data: readFileSync(new URL('./data.txt', import.meta.url), 'utf8'), helper, jobs: [],",
        "  resolved: import.meta.resolve('./data.txt'), pkg: import.meta.resolve('node:fs'),",
        '}',
      ].join('\n'),
      'lib/helper.ts': "export const helper: string[] = [import.meta.url, import.meta.resolve('../data.txt')]\n",
      'data.txt': 'next to the config',
    })
    const real = realpathSync(dir)
    expect(await loadConfigModule(join(dir, 'crons.config.ts'))).toEqual({
      url: pathToFileURL(join(real, 'crons.config.ts')).href,
      dirname: real,
      filename: join(real, 'crons.config.ts'),
      cjs: real,
      data: 'next to the config',
      helper: [pathToFileURL(join(real, 'lib/helper.ts')).href, pathToFileURL(join(real, 'data.txt')).href],
      jobs: [],
      resolved: pathToFileURL(join(real, 'data.txt')).href,
      pkg: 'node:fs',
    })
  })

  it('gives CommonJS it bundles a real require, in plain Node too; a config may still declare its own', () => {
    const dir = tempDir({
      'legacy.cjs': "const { sep } = require('node:path')\nmodule.exports = { state: sep === '/' ? 'cjs.db' : 'x' }\n",
      'crons.config.mjs': [
        "import { createRequire } from 'node:module'",
        "import legacy from './legacy.cjs'",
        'const require = createRequire(import.meta.url)',
        "export default { state: legacy.state, jobs: [{ name: typeof require('node:fs').statSync }] }",
      ].join('\n'),
    })
    // vitest's module runner supplies a `require` of its own: load as bin/dev.js and the CLI do.
    const worker = join(FIXTURES, 'worker/load-config.ts')
    const out = execFileSync(process.execPath, ['--import', 'tsx', worker, join(dir, 'crons.config.mjs')], {
      cwd: REPO,
      encoding: 'utf8',
    })
    expect(out.trim()).toBe('{"state":"cjs.db","jobs":["function"]}')
  })

  it('reports syntax errors where the user wrote them, in characters', async () => {
    const dir = tempDir({ 'crons.config.ts': "const url = import.meta.url; const s = 'ü', = 1\nexport default {}\n" })
    const error = await rejection(loadConfigModule(join(dir, 'crons.config.ts'), { displayPath: 'c.ts' }))
    expect(error.code).toBe('CONFIG_SYNTAX')
    expect(error.message).toBe('c.ts:1:45: Expected identifier but found "="')
  })

  it('names a missing module imported by another file', async () => {
    const dir = tempDir({
      'crons.config.ts': "import './lib/a.js'\nexport default {}\n",
      'lib/a.ts': "import './nope.js'\n",
    })
    const error = await rejection(resolveConfig({ cwd: dir, env: {} }))
    expect(error.message).toBe(
      "crons.config.ts: the config threw while loading: Cannot find module './nope.js' imported from lib/a.ts",
    )
  })

  it('lets concurrent loads of a changed config all succeed', async () => {
    const dir = tempDir({ 'crons.config.mjs': plainConfig("state: 'before.db',") })
    const path = join(dir, 'crons.config.mjs')
    await loadConfigModule(path)
    writeFileSync(path, plainConfig("state: 'after.db',"))
    const configs = await Promise.all([1, 2, 3].map(() => loadConfigModule(path)))
    expect(configs.map((config) => (config as { state: string }).state)).toEqual(['after.db', 'after.db', 'after.db'])
  })

  it('lets separate processes (plain Node, as bin/dev.js runs) race on one changed config', async () => {
    const dir = tempDir({
      'crons.config.ts':
        "import { defineConfig } from 'cronsjs'\nimport { name } from './name.js'\n" +
        "export default defineConfig({ state: 'race.db', jobs: [{ name, schedule: '@daily', run() {} }] })\n",
      'name.ts': "export const name: string = 'first'\n",
    })
    const path = join(dir, 'crons.config.ts')
    const worker = join(FIXTURES, 'worker/load-config.ts')
    const run = () =>
      new Promise<string>((done, fail) => {
        const child = spawn(process.execPath, ['--import', 'tsx', worker, path], { cwd: REPO })
        let out = ''
        let err = ''
        child.stdout.on('data', (chunk) => {
          out += chunk
        })
        child.stderr.on('data', (chunk) => {
          err += chunk
        })
        child.on('error', fail)
        child.on('close', (code) => (code === 0 ? done(out.trim()) : fail(new Error(`exit ${code}: ${err}`))))
      })
    expect(await run()).toBe('{"state":"race.db","jobs":["first"]}')
    writeFileSync(join(dir, 'name.ts'), "export const name: string = 'later'\n")
    const outputs = await Promise.all([run(), run(), run()])
    expect(outputs).toEqual(Array(3).fill('{"state":"race.db","jobs":["later"]}'))
  })
})

describe('resolveConfig', () => {
  it('loads a config outside any project, importing defineConfig from "cronsjs"', async () => {
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

  it('still resolves the earlier package name "crons" to the running package', async () => {
    const dir = tempDir({
      'crons.config.ts':
        "import { defineConfig } from 'crons'\n" +
        "export default defineConfig({ jobs: [{ name: 'old', schedule: '@daily', run() {} }] })\n",
    })
    const config = await resolveConfig({ cwd: dir, env: {} })
    expect(config.jobs.map((job) => job.name)).toEqual(['old'])
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
      `${file}: job "report" (jobs[1]) tz: unknown time zone "Europe/Pariss" (expected an IANA zone name such as "Europe/Berlin", "America/New_York" or "UTC") (did you mean "Europe/Paris"?)`,
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
