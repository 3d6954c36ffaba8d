/**
 * docs/cli.md is generated from the commands; these tests fail when a command changes and the page
 * was not regenerated, or when a command ships without the summary and examples the page needs.
 * They read the build (dist/, oclif.manifest.json): run `npm run build` first.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { EXIT } from '../../src/errors.js'

const ROOT = path.resolve(import.meta.dirname, '../..')
const COMMANDS = path.join(ROOT, 'dist', 'commands')

/** Command ids as oclif derives them from file names under dist/commands. */
function builtCommandIds(): string[] {
  return fs
    .readdirSync(COMMANDS, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.js'))
    .map((file) => file.replace(/\.js$/, '').split(path.sep).join(':'))
    .map((id) => id.replace(/:index$/, ''))
    .sort()
}

interface CommandClass {
  summary?: string
  examples?: unknown[]
  hidden?: boolean
}

describe('docs/cli.md', () => {
  it('is exactly what scripts/cli-docs.mjs generates from the current build', () => {
    const generated = spawnSync(process.execPath, [path.join(ROOT, 'scripts/cli-docs.mjs'), '--stdout'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
    expect(generated.stderr).toBe('')
    expect(generated.status).toBe(0)
    const current = fs.readFileSync(path.join(ROOT, 'docs/cli.md'), 'utf8')
    // On failure: `npm run build && node scripts/cli-docs.mjs`, then review the diff.
    expect(current, 'docs/cli.md is stale: run `npm run build && node scripts/cli-docs.mjs`').toBe(generated.stdout)
  })

  it('the manifest lists every built command (a stale manifest would make stale docs)', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as {
      commands: Record<string, unknown>
    }
    expect(Object.keys(manifest.commands).sort()).toEqual(builtCommandIds())
  })

  it('documents every exit code in src/errors.ts', () => {
    const page = fs.readFileSync(path.join(ROOT, 'docs/cli.md'), 'utf8')
    for (const code of Object.values(EXIT)) expect(page).toMatch(new RegExp(`^\\| ${code} \\| `, 'm'))
  })

  it('every command has a summary and at least one example', async () => {
    const ids = builtCommandIds()
    expect(ids).toContain('logs')
    for (const id of ids) {
      const file = path.join(COMMANDS, `${id.split(':').join(path.sep)}.js`)
      const module = (await import(pathToFileURL(file).href)) as { default: CommandClass }
      const command = module.default
      if (command.hidden) continue
      expect(command.summary?.trim(), `${id}: summary`).toBeTruthy()
      expect(command.examples?.length ?? 0, `${id}: examples`).toBeGreaterThan(0)
    }
  })
})
