/**
 * cron-parser's expansions kept on disk between processes: used when they were written under the same
 * cron-parser version, ignored when the file is missing, corrupt or from another version, and never
 * holding a text cron-parser refused (so its errors, and our messages, always come from it).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { parserCacheFile } from '../../src/config/bundle.js'
import { recallParserResults, storeParserResults } from '../../src/config/parser-cache.js'
import { CronsError } from '../../src/errors.js'
import { parseFields } from '../../src/schedule/index.js'
import { parserResults, parserVersion, rememberParserResults } from '../../src/schedule/parser-results.js'

const dir = mkdtempSync(join(tmpdir(), 'crons-parser-cache-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let files = 0
const newFile = () => join(dir, `c${files++}.parser.json`)

function stored(file: string): { format: number; cronParser: string; results: { time: object; dates: object } } {
  return JSON.parse(readFileSync(file, 'utf8'))
}

/** A file as a previous process would have written it, with `time` entries of our choosing. */
function writeResults(file: string, time: Record<string, unknown>, version = parserVersion()): void {
  writeFileSync(file, JSON.stringify({ format: 1, cronParser: version, results: { time, dates: {} } }))
}

function messageOf(expression: string): string {
  try {
    parseFields(expression)
  } catch (error) {
    expect(error).toBeInstanceOf(CronsError)
    return (error as CronsError).message
  }
  throw new Error(`expected ${JSON.stringify(expression)} to be rejected`)
}

describe('parser cache', () => {
  test('is named after the bundle, beside its manifest', () => {
    expect(parserCacheFile('/c/crons.config.ts-0123456789abcdef.0123456789ab.mjs')).toBe(
      '/c/crons.config.ts-0123456789abcdef.parser.json',
    )
    // A path that is not a cached bundle is refused rather than answered with itself.
    expect(() => parserCacheFile('/c/crons.config.mjs')).toThrow('not a cached config bundle')
  })

  test('miss: cron-parser answers, and its answers are written with its version', () => {
    const file = newFile()
    expect(recallParserResults(file)).toBe(false)
    expect(parseFields('7-9 1 * * *').minutes).toEqual([7, 8, 9])
    storeParserResults(file)
    const written = stored(file)
    expect(written.cronParser).toBe(parserVersion())
    expect(written.results.time).toMatchObject({ '1 7-9': [7, 8, 9], '2 1': [1] })
  })

  test('hit: the stored expansion is used instead of asking cron-parser', () => {
    const file = newFile()
    // Deliberately not what cron-parser gives for 41-43, to show where the answer came from.
    writeResults(file, { '1 41-43': [41, 42] })
    expect(recallParserResults(file)).toBe(true)
    expect(parseFields('41-43 * * * *').minutes).toEqual([41, 42])
  })

  test('nothing new: the file is not rewritten', () => {
    const file = newFile()
    writeResults(file, { '1 44-45': [44, 45], '2 *': [0], '0 0': [0] })
    const before = readFileSync(file, 'utf8')
    expect(recallParserResults(file)).toBe(true)
    storeParserResults(file)
    expect(readFileSync(file, 'utf8')).toBe(before)
  })

  test('a corrupt or malformed file is ignored and replaced', () => {
    const malformed = { format: 1, cronParser: parserVersion(), results: { time: { '1 2': 'x' }, dates: {} } }
    const texts = ['{"format":1,', '[]', JSON.stringify(malformed)]
    texts.forEach((text, i) => {
      const file = newFile()
      writeFileSync(file, text)
      expect(recallParserResults(file)).toBe(false)
      // An hour no earlier test parsed, so cron-parser is asked and the file rewritten.
      expect(parseFields(`2 ${i + 10} * * *`).hours).toEqual([i + 10])
      storeParserResults(file)
      expect(stored(file).results.time).toMatchObject({ [`2 ${i + 10}`]: [i + 10] })
    })
  })

  test('results of another cron-parser version are not used', () => {
    const file = newFile()
    writeResults(file, { '1 46-47': [99] }, '0.0.1')
    expect(recallParserResults(file)).toBe(false)
    expect(parseFields('46-47 * * * *').minutes).toEqual([46, 47])
    storeParserResults(file)
    expect(stored(file).cronParser).toBe(parserVersion())
  })

  test('refused texts are never kept, and their messages do not change', () => {
    const file = newFile()
    recallParserResults(file)
    const outOfRange = messageOf('61 * * * *')
    const neverFires = messageOf('0 0 31 2 *')
    storeParserResults(file)
    recallParserResults(file)
    expect(messageOf('61 * * * *')).toBe(outOfRange)
    expect(messageOf('0 0 31 2 *')).toBe(neverFires)
    expect(neverFires).toBe('"0 0 31 2 *" never fires (no day matches)')
    const text = readFileSync(file, 'utf8')
    expect(text).not.toContain('61')
    expect(text).not.toContain('31 2')
  })

  test('keeps at most 4,096 answers in memory, however many texts a process parses', () => {
    rememberParserResults({ time: {}, dates: {} })
    const texts: string[] = []
    for (let from = 0; from < 59; from++) {
      for (let to = from + 1; to < 60; to++) for (const step of [1, 2, 3]) texts.push(`${from}-${to}/${step} * * * *`)
    }
    expect(texts.length).toBeGreaterThan(5000)
    for (const text of texts.slice(0, 5000)) parseFields(text)
    const { results, added } = parserResults()
    expect(added).toBe(true)
    const kept = Object.keys(results.time).length + Object.keys(results.dates).length
    expect(kept).toBeGreaterThan(0)
    expect(kept).toBeLessThanOrEqual(4096)
    // What is kept is still right.
    expect(parseFields('3-9/3 * * * *').minutes).toEqual([3, 6, 9])
  })
})
