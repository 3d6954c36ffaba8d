/**
 * oclif's parser errors as crons words them (src/cli/base.ts `parseError`), for the shapes no
 * command triggers today (flag relationships), straight from oclif's own parser. The shapes the
 * commands do trigger are tested through the CLI in cli.test.ts.
 */
import { Args, Flags, Parser } from '@oclif/core'
import { describe, expect, it } from 'vitest'
import { parseError } from '../../src/cli/base.js'

const CONTEXT = { bin: 'crons', id: 'demo', flags: ['from', 'to', 'json'] }

async function wordingOf(argv: string[], input: Parameters<typeof Parser.parse>[1]) {
  try {
    await Parser.parse(argv, input)
  } catch (error) {
    const crons = parseError(error as Error, CONTEXT)
    return { code: crons.code, exitCode: crons.exitCode, message: crons.message, suggestions: crons.suggestions }
  }
  throw new Error(`${argv.join(' ')} parsed`)
}

describe('parseError', () => {
  it('a missing required flag, and flags that exclude each other: the reasons on one line', async () => {
    expect(await wordingOf([], { flags: { from: Flags.string({ required: true }) } })).toEqual({
      code: 'FLAG_INVALID',
      exitCode: 2,
      message: 'missing required flag from',
      suggestions: ['see `crons demo --help`'],
    })
    const exclusive = await wordingOf(['--from', 'a', '--to', 'b'], {
      flags: { from: Flags.string({ exclusive: ['to'] }), to: Flags.string() },
    })
    expect(exclusive.message).toBe('--to=b cannot also be provided when using --from')
    expect(exclusive.message).not.toContain('\n')
  })

  it('several missing arguments are named together', async () => {
    const input = { args: { job: Args.string({ required: true }), slot: Args.string({ required: true }) } }
    expect((await wordingOf([], input)).message).toBe('missing arguments JOB, SLOT')
  })
})
