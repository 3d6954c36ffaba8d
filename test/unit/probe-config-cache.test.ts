import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfigModule } from '../../src/config/loader.js'

const temps: string[] = []
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

const stateIs = (state: string) => `export default { state: '${state}', jobs: [] }\n`

describe('probe: the cached bundle going stale', () => {
  it('a symlinked import re-pointed to another file is seen', async () => {
    const dir = tempDir({
      'crons.config.mjs': "import { state } from './current.mjs'\nexport default { state, jobs: [] }\n",
      'v1.mjs': "export const state = 'one.db'\n",
      'v2.mjs': "export const state = 'two.db'\n",
    })
    symlinkSync('v1.mjs', join(dir, 'current.mjs'))
    const path = join(dir, 'crons.config.mjs')
    expect(await loadConfigModule(path)).toMatchObject({ state: 'one.db' })
    unlinkSync(join(dir, 'current.mjs'))
    symlinkSync('v2.mjs', join(dir, 'current.mjs'))
    expect(await loadConfigModule(path)).toMatchObject({ state: 'two.db' })
  })

  it('a config reached through a re-pointed release symlink loads the new release', async () => {
    const dir = tempDir({
      'releases/a/crons.config.mjs': stateIs('a.db'),
      'releases/b/crons.config.mjs': stateIs('b.db'),
    })
    symlinkSync(join(dir, 'releases/a'), join(dir, 'current'))
    const path = join(dir, 'current/crons.config.mjs')
    expect(await loadConfigModule(path)).toMatchObject({ state: 'a.db' })
    unlinkSync(join(dir, 'current'))
    symlinkSync(join(dir, 'releases/b'), join(dir, 'current'))
    expect(await loadConfigModule(path)).toMatchObject({ state: 'b.db' })
  })

  it('a config file that is a symlink, re-pointed', async () => {
    const dir = tempDir({ 'a.mjs': stateIs('a.db'), 'b.mjs': stateIs('b.db') })
    const path = join(dir, 'crons.config.mjs')
    symlinkSync('a.mjs', path)
    expect(await loadConfigModule(path)).toMatchObject({ state: 'a.db' })
    unlinkSync(path)
    symlinkSync('b.mjs', path)
    expect(await loadConfigModule(path)).toMatchObject({ state: 'b.db' })
  })

  it('a symlinked config replaced by a regular file (sed -i, an editor saving by rename) is seen', async () => {
    const dir = tempDir({ 'a.mjs': stateIs('a.db') })
    const path = join(dir, 'crons.config.mjs')
    symlinkSync('a.mjs', path)
    expect(await loadConfigModule(path)).toMatchObject({ state: 'a.db' })
    unlinkSync(path)
    writeFileSync(path, stateIs('edited.db'))
    expect(await loadConfigModule(path)).toMatchObject({ state: 'edited.db' })
  })

  it('a new file that now wins the resolution of an extensionless import is seen', async () => {
    const dir = tempDir({
      'crons.config.ts': "import { state } from './lib'\nexport default { state, jobs: [] }\n",
      'lib/index.ts': "export const state: string = 'index.db'\n",
    })
    const path = join(dir, 'crons.config.ts')
    expect(await loadConfigModule(path)).toMatchObject({ state: 'index.db' })
    writeFileSync(join(dir, 'lib.ts'), "export const state: string = 'file.db'\n")
    expect(await loadConfigModule(path)).toMatchObject({ state: 'file.db' })
  })

  it('a deleted import is reported, not served from the cache', async () => {
    const dir = tempDir({
      'crons.config.ts': "import { state } from './lib/state.js'\nexport default { state, jobs: [] }\n",
      'lib/state.ts': "export const state: string = 'one.db'\n",
    })
    const path = join(dir, 'crons.config.ts')
    expect(await loadConfigModule(path)).toMatchObject({ state: 'one.db' })
    rmSync(join(dir, 'lib/state.ts'))
    await expect(loadConfigModule(path)).rejects.toThrow(/Cannot find module/)
  })
})
