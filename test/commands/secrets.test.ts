/**
 * A Postgres URL carries a password: it must never reach stdout or stderr, whichever way the URL
 * comes in (config file, --state, CRONS_STATE) and whatever the command says about it. Port 1 on
 * loopback refuses connections, so every command that opens the state fails there, naming it.
 */
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { maskUrl } from '../../src/store/location.js'
import { crons } from './helpers.js'

const SECRET = 's3cret'
const URL_WITH_SECRET = `postgres://u:${SECRET}@127.0.0.1:1/db`

const dirs: string[] = []
function projectDir(state?: string): string {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-secrets-'))
  dirs.push(dir)
  const stateLine = state === undefined ? '' : `  state: ${JSON.stringify(state)},\n`
  fs.writeFileSync(
    path.join(dir, 'crons.config.ts'),
    `export default {\n${stateLine}  timezone: 'UTC',\n  jobs: [{ name: 'tick', every: '1h', run: () => 'ok' }],\n}\n`,
  )
  return dir
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

/** Commands that open the state, and one that only shows where it is. */
const COMMANDS: string[][] = [
  ['status'],
  ['list-jobs'],
  ['logs'],
  ['run-job', 'tick'],
  ['pause-job', 'tick'],
  ['state', 'migrate'],
  ['start-scheduler'],
]

describe('credentials in a Postgres state URL', () => {
  it('maskUrl hides the password and keeps everything else', () => {
    expect(maskUrl(URL_WITH_SECRET)).toBe('postgres://u:***@127.0.0.1:1/db')
    expect(maskUrl('postgresql://u@h/db?sslmode=require')).toBe('postgresql://u@h/db?sslmode=require')
    expect(maskUrl(`postgres://u:${SECRET}@h:notaport/db`)).toBe('postgres://***@h:notaport/db')
  })

  // Every command with the URL from the file; the other ways go through the same resolved config.
  const ways: [string, string[][], () => { dir: string; args: string[]; env: Record<string, string> }][] = [
    ['the config file', COMMANDS, () => ({ dir: projectDir(URL_WITH_SECRET), args: [], env: {} })],
    [
      '--state',
      [['status'], ['state', 'migrate']],
      () => ({ dir: projectDir(), args: ['--state', URL_WITH_SECRET], env: {} }),
    ],
    [
      'CRONS_STATE',
      [['run-job', 'tick']],
      () => ({ dir: projectDir(), args: [], env: { CRONS_STATE: URL_WITH_SECRET } }),
    ],
  ]
  for (const [way, commands, setup] of ways) {
    it(`never prints the password of a URL from ${way}, and names the server in one line`, () => {
      const { dir, args, env } = setup()
      for (const command of commands) {
        const result = crons(dir, [...command, ...args], env)
        const said = `${command.join(' ')}: ${result.stdout}${result.stderr}`
        expect(said).not.toContain(SECRET)
        expect(result.status, said).not.toBe(0)
        const [first] = result.stderr.split('\n')
        expect(first, said).toContain('127.0.0.1:1 database "db": cannot connect')
      }
      const shown = crons(dir, ['config', '--json', ...args], env)
      expect(shown.status).toBe(0)
      expect(`${shown.stdout}${shown.stderr}`).not.toContain(SECRET)
      expect(JSON.parse(shown.stdout).state.value).toBe('postgres://u:***@127.0.0.1:1/db')
    })
  }

  it('refuses a URL with a typo in one line without the password', () => {
    const dir = projectDir()
    for (const bad of [
      `postgres://u:${SECRET}@127.0.0.1:port/db`,
      `postgress://u:${SECRET}@127.0.0.1/db`,
      `postgres://u:${SECRET}@127.0.0.1:5432/`,
      `postgres://u:${SECRET}@127.0.0.1:5432/db?schema=Bad-Name`,
    ]) {
      const result = crons(dir, ['status', '--state', bad])
      expect(result.status).not.toBe(0)
      expect(`${result.stdout}${result.stderr}`).not.toContain(SECRET)
      expect(result.stderr.split('\n')[0]).toMatch(/^error: --state: postgres/i)
    }
  })
})
