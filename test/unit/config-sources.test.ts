/**
 * The sources a loaded config was made from (what `start-scheduler --watch` follows) and its
 * fingerprint (what a scheduler records, and `list-jobs`/`status` compare with the file).
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { configSources, loadConfigModule, resolveConfig } from '../../src/config/loader.js'
import { fingerprintOf } from '../../src/config/sources.js'

const temps: string[] = []

afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true })
})

function tempDir(files: Record<string, string>): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'crons-sources-')))
  temps.push(dir)
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  return dir
}

const CONFIG = `import { defineConfig } from 'cronsjs'
import { jobs } from './lib/jobs'
export default defineConfig({ state: ':memory:', jobs })
`
const jobs = (schedule: string) => `export const jobs = [{ name: 'a', schedule: '${schedule}', run: () => {} }]\n`

describe('config sources and fingerprint', () => {
  it('lists the config and the local files it imports, not crons itself', async () => {
    const dir = tempDir({ 'crons.config.ts': CONFIG, 'lib/jobs.ts': jobs('@daily') })
    const config = await resolveConfig({ cwd: dir, hash: true })
    const sources = configSources(join(dir, 'crons.config.ts'))
    expect(sources?.files.sort()).toEqual([join(dir, 'crons.config.ts'), join(dir, 'lib/jobs.ts')])
    expect(config.configHash).toMatch(/^[0-9a-f]{16}$/)
    expect(sources?.hash).toBe(config.configHash)
  })

  it('names an import reached through a symlink both ways, so re-pointing the link is seen', async () => {
    const dir = tempDir({
      'crons.config.mjs': "import { jobs } from './current.mjs'\nexport default { state: ':memory:', jobs }\n",
      'v1.mjs': jobs('@daily'),
      'v2.mjs': jobs('@hourly'),
    })
    const path = join(dir, 'crons.config.mjs')
    symlinkSync('v1.mjs', join(dir, 'current.mjs'))
    await loadConfigModule(path)
    const before = configSources(path)
    expect(before?.files.sort()).toEqual([path, join(dir, 'current.mjs'), join(dir, 'v1.mjs')])
    unlinkSync(join(dir, 'current.mjs'))
    symlinkSync('v2.mjs', join(dir, 'current.mjs'))
    expect(await loadConfigModule(path)).toMatchObject({ jobs: [{ schedule: '@hourly' }] })
    const after = configSources(path)
    expect(after?.files.sort()).toEqual([path, join(dir, 'current.mjs'), join(dir, 'v2.mjs')])
    expect(after?.hash).not.toBe(before?.hash)
  })

  it('is only computed when asked for', async () => {
    const dir = tempDir({ 'crons.config.ts': CONFIG, 'lib/jobs.ts': jobs('@daily') })
    expect((await resolveConfig({ cwd: dir })).configHash).toBeUndefined()
  })

  it('two loads of the same files agree; an edit of an imported file changes it; saving the same text does not', async () => {
    const dir = tempDir({ 'crons.config.ts': CONFIG, 'lib/jobs.ts': jobs('@daily') })
    const first = (await resolveConfig({ cwd: dir, hash: true })).configHash
    expect((await resolveConfig({ cwd: dir, hash: true })).configHash).toBe(first)
    writeFileSync(join(dir, 'lib/jobs.ts'), jobs('@hourly'))
    const edited = (await resolveConfig({ cwd: dir, hash: true })).configHash
    expect(edited).not.toBe(first)
    writeFileSync(join(dir, 'lib/jobs.ts'), jobs('@hourly'))
    expect((await resolveConfig({ cwd: dir, hash: true })).configHash).toBe(edited)
  })

  it('is the same for the same files in another folder (paths count relative to the config)', () => {
    const a = tempDir({ 'crons.config.ts': CONFIG, 'lib/jobs.ts': jobs('@daily') })
    const b = tempDir({ 'crons.config.ts': CONFIG, 'lib/jobs.ts': jobs('@daily') })
    const files = (dir: string) => [join(dir, 'crons.config.ts'), join(dir, 'lib/jobs.ts')]
    expect(fingerprintOf(a, files(a))).toBe(fingerprintOf(b, files(b)))
    expect(fingerprintOf(a, files(a))).not.toBe(fingerprintOf(a, [join(a, 'crons.config.ts')]))
  })
})
