/**
 * `crons next` end to end: JSON and human output, the DST rule for a fixed-hour job on the New York
 * spring-forward day, and the one-line contract for every bad input (SEMANTICS §1, §2, §8).
 */
import { describe, expect, it } from 'vitest'
import { ANSI, linesOf, runCli, tempDir, useBuiltCli } from './helpers.js'

useBuiltCli()

const DST = ['next', '30 2 * * *', '--tz', 'America/New_York', '--from', '2025-03-08T12:00:00Z', '--count', '3']
const DST_FIRES = ['2025-03-09T07:00:00.000Z', '2025-03-10T06:30:00.000Z', '2025-03-11T06:30:00.000Z']

/** A folder whose crons.config.ts does not even parse. */
function brokenConfigDir(): string {
  return tempDir({ 'crons.config.ts': 'export default {{{ this is not TypeScript\n' })
}

describe.concurrent('crons next <expression>', () => {
  it('--json prints the fires around the spring-forward gap (02:30 runs once at 03:00 EDT)', async () => {
    const r = await runCli([...DST, '--json'], { cwd: tempDir() })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual(DST_FIRES)
  })

  it('ignores a broken crons.config.ts in the current folder when given an expression', async () => {
    const cwd = brokenConfigDir()
    const r = await runCli([...DST, '--json'], { cwd })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual(DST_FIRES)
    // ...and the same folder does break a command that reads the config.
    const withConfig = await runCli(['config'], { cwd })
    expect(withConfig.code).toBe(3)
  })

  it('prints a plain table with the UTC instant, local time with offset and relative time', async () => {
    const r = await runCli(DST, { cwd: tempDir() })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).not.toMatch(ANSI)
    const lines = linesOf(r.stdout)
    expect(lines[0]).toBe('30 2 * * * (at 02:30 every day) in America/New_York')
    expect(lines[1]).toMatch(/^#\s+UTC\s+Local \(America\/New_York\)\s+When$/)
    expect(lines).toHaveLength(5)
    // 2025 is in the past here, so the relative column says "... ago".
    expect(lines[2]).toMatch(/^1\s+2025-03-09T07:00:00\.000Z\s+2025-03-09 03:00:00 \(UTC-04:00\)\s+\d+d( \d+h)? ago$/)
    expect(lines[3]).toMatch(/^2\s+2025-03-10T06:30:00\.000Z\s+2025-03-10 02:30:00 \(UTC-04:00\)\s+\d+d( \d+h)? ago$/)
    expect(lines[4]).toMatch(/^3\s+2025-03-11T06:30:00\.000Z\s+2025-03-11 02:30:00 \(UTC-04:00\)\s+\d+d( \d+h)? ago$/)
  })

  it('shows future fires as "in ..." (default --from is now, default count 5)', async () => {
    const r = await runCli(['next', '0 0 1 1 *', '--tz', 'UTC'], { cwd: tempDir() })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const rows = linesOf(r.stdout).slice(2)
    expect(rows).toHaveLength(5)
    for (const [i, row] of rows.entries()) {
      expect(row).toMatch(
        new RegExp(`^${i + 1}\\s+\\d{4}-01-01T00:00:00\\.000Z\\s+\\d{4}-01-01 00:00:00 UTC\\s+in \\d+[dhms]`),
      )
    }
  })
})

/** [name, argv after `next`, exact stderr line]. Every one must exit 2 with nothing on stdout. */
const BAD_INPUTS: Array<[string, string[], string]> = [
  ['minute out of range', ['60 * * * *'], 'error: minute 60 is out of range 0-59 in "60 * * * *"'],
  ['4 fields', ['* * * *'], 'error: expected 5 or 6 fields, got 4 in "* * * *"'],
  [
    '@reboot',
    ['@reboot'],
    'error: unknown alias "@reboot" in "@reboot" (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)',
  ],
  ['never fires', ['0 0 31 2 *'], 'error: "0 0 31 2 *" never fires (no day matches)'],
  [
    'unknown zone',
    ['* * * * *', '--tz', 'America/New_Yrok'],
    'error: --tz: unknown time zone "America/New_Yrok" (expected an IANA zone name such as "Europe/Berlin", "America/New_York" or "UTC") (did you mean "America/New_York"?)',
  ],
  [
    '--from without offset',
    ['* * * * *', '--from', '2025-03-08T12:00:00'],
    `error: --from "2025-03-08T12:00:00" has no offset (expected "Z" or an offset such as "+01:00" at the end, so the instant does not depend on the machine's zone)`,
  ],
  [
    '--from on a day the month does not have',
    ['* * * * *', '--from', '2025-02-29T12:00:00Z'],
    'error: --from "2025-02-29T12:00:00Z" is not a real date and time (expected an ISO instant with an offset such as "2026-01-01T03:00:00Z" or "2026-01-01T03:00:00+01:00")',
  ],
  [
    '--from at an hour past 23',
    ['* * * * *', '--from', '2025-03-08T24:30:00+01:00'],
    'error: --from "2025-03-08T24:30:00+01:00" is not a real date and time (expected an ISO instant with an offset such as "2026-01-01T03:00:00Z" or "2026-01-01T03:00:00+01:00")',
  ],
  [
    '--from garbage',
    ['* * * * *', '--from', 'garbage'],
    'error: --from "garbage" is not an ISO instant (expected an ISO instant with an offset such as "2026-01-01T03:00:00Z" or "2026-01-01T03:00:00+01:00")',
  ],
  [
    '--count -1',
    ['* * * * *', '--count', '-1'],
    'error: --count "-1" is not valid (expected a whole number from 1 to 10000)',
  ],
  [
    '--count abc',
    ['* * * * *', '--count', 'abc'],
    'error: --count "abc" is not valid (expected a whole number from 1 to 10000)',
  ],
  [
    '--count 1.5',
    ['* * * * *', '--count', '1.5'],
    'error: --count "1.5" is not valid (expected a whole number from 1 to 10000)',
  ],
  [
    '--count 0',
    ['* * * * *', '--count', '0'],
    'error: --count "0" is not valid (expected a whole number from 1 to 10000)',
  ],
  [
    'missing expression',
    [],
    'error: missing cron expression (expected an expression such as "0 3 * * *", or --job NAME)',
  ],
  ['unknown flag', ['* * * * *', '--bogus'], 'error: unknown flag --bogus (see `crons next --help`)'],
  // The schedule suggests a bare candidate; the CLI words it like every other did-you-mean.
  [
    'misspelt alias',
    ['@daly'],
    'error: unknown alias "@daly" in "@daly" (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly) (did you mean "@daily"?)',
  ],
  [
    'misspelt day name',
    ['0 3 * * MNO'],
    'error: day-of-week "MNO" is not valid in "0 3 * * MNO" (expected 0-7 or SUN-SAT) (did you mean "MON"?)',
  ],
  ['--tz without a value', ['* * * * *', '--tz'], 'error: missing value for --tz (see `crons next --help`)'],
  ['--count without a value', ['* * * * *', '--count'], 'error: missing value for --count (see `crons next --help`)'],
  ['an extra argument', ['* * * * *', 'extra'], 'error: unexpected argument "extra" (see `crons next --help`)'],
]

describe.concurrent('crons next: every bad input is one line on stderr, nothing on stdout, exit 2', () => {
  for (const [name, argv, message] of BAD_INPUTS) {
    for (const json of [false, true]) {
      it(`${name}${json ? ' (--json)' : ''}`, async () => {
        const r = await runCli(['next', ...argv, ...(json ? ['--json'] : [])], { cwd: tempDir() })
        expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
          code: 2,
          stdout: '',
          stderr: `${message}\n`,
        })
      })
    }
  }
})

describe.concurrent('crons next: one line even in a development shell', () => {
  // oclif prints an "[UnparsedCommand] Warning: Command next did not parse its arguments" (two more
  // lines) after a parse error whenever NODE_ENV is "development" or "test" — common in developers'
  // shells. The contract (§8) is one line for every bad input, whatever the environment.
  for (const nodeEnv of ['development', 'test']) {
    it(`unknown flag with NODE_ENV=${nodeEnv}`, async () => {
      const r = await runCli(['next', '* * * * *', '--bogus'], { cwd: tempDir(), env: { NODE_ENV: nodeEnv } })
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
        code: 2,
        stdout: '',
        stderr: 'error: unknown flag --bogus (see `crons next --help`)\n',
      })
    })
  }
})

describe.concurrent('crons next --job', () => {
  const config = `import { defineConfig } from 'cronsjs'
export default defineConfig({
  timezone: 'Europe/Berlin',
  jobs: [
    { name: 'backup', schedule: '30 2 * * *', tz: 'America/New_York', run: () => {} },
    { name: 'report', schedule: '0 9 * * *', run: () => {} },
    { name: 'sync', every: '6h', run: () => {} },
  ],
})
`

  it("uses the job's schedule and its own zone", async () => {
    const cwd = tempDir({ 'crons.config.ts': config })
    const r = await runCli(['next', '--job', 'backup', '--from', '2025-03-08T12:00:00Z', '--count', '3', '--json'], {
      cwd,
    })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual(DST_FIRES)
  })

  it("uses the config's timezone for a job without tz (Berlin springs forward 2025-03-30)", async () => {
    const cwd = tempDir({ 'crons.config.ts': config })
    const r = await runCli(['next', '--job', 'report', '--from', '2025-03-29T00:00:00Z', '--count', '2', '--json'], {
      cwd,
    })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    // 09:00 CET = 08:00Z, then 09:00 CEST = 07:00Z.
    expect(JSON.parse(r.stdout)).toEqual(['2025-03-29T08:00:00.000Z', '2025-03-30T07:00:00.000Z'])
  })

  it("--tz reads a cron job's schedule in that zone", async () => {
    const cwd = tempDir({ 'crons.config.ts': config })
    const r = await runCli(
      ['next', '--job', 'report', '--tz', 'UTC', '--from', '2025-03-29T00:00:00Z', '--count', '2', '--json'],
      { cwd },
    )
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toEqual(['2025-03-29T09:00:00.000Z', '2025-03-30T09:00:00.000Z'])
  })

  it('--tz shows an interval job in that zone: the same instants, local times in the zone', async () => {
    const cwd = tempDir({ 'crons.config.ts': config })
    const base = ['next', '--job', 'sync', '--from', '2025-03-29T00:00:00Z', '--count', '2']
    const [own, tokyo, human] = await Promise.all([
      runCli([...base, '--json'], { cwd }),
      runCli([...base, '--tz', 'Asia/Tokyo', '--json'], { cwd }),
      runCli([...base, '--tz', 'Asia/Tokyo'], { cwd }),
    ])
    expect(tokyo.stderr).toBe('')
    expect(JSON.parse(tokyo.stdout)).toEqual(JSON.parse(own.stdout))
    const lines = linesOf(human.stdout)
    expect(lines[0]).toMatch(/ in Asia\/Tokyo$/)
    const first = new Date(JSON.parse(own.stdout)[0] as string)
    const jst = new Date(first.getTime() + 9 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ')
    expect(lines[2]).toContain(`${jst} (UTC+09:00)`)
  })

  it('human output names the job schedule and zone', async () => {
    const cwd = tempDir({ 'crons.config.ts': config })
    const r = await runCli(['next', '--job', 'backup', '--from', '2025-03-08T12:00:00Z', '--count', '1'], { cwd })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const lines = linesOf(r.stdout)
    expect(lines[0]).toBe('30 2 * * * (at 02:30 every day) in America/New_York')
    expect(lines[2]).toMatch(/^1\s+2025-03-09T07:00:00\.000Z\s+2025-03-09 03:00:00 \(UTC-04:00\)/)
  })

  it('an unknown job name is one line with did-you-mean, exit 2', async () => {
    const cwd = tempDir({ 'crons.config.ts': config })
    for (const json of [false, true]) {
      const r = await runCli(['next', '--job', 'bakup', ...(json ? ['--json'] : [])], { cwd })
      expect(r.stdout).toBe('')
      expect(r.stderr).toBe(
        `error: no job named "bakup" in ${cwd}/crons.config.ts (known jobs: backup, report, sync) (did you mean "backup"?)\n`,
      )
      expect(r.code).toBe(2)
    }
  })

  it('--job with an expression as well is one line, exit 2', async () => {
    const cwd = tempDir({ 'crons.config.ts': config })
    const r = await runCli(['next', '* * * * *', '--job', 'backup'], { cwd })
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe('error: give either an expression or --job, not both\n')
    expect(r.code).toBe(2)
  })
})
