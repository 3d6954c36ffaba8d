/**
 * start-scheduler's config follower (cli/follow-config.ts): SIGHUP loads the config again and hands it
 * to the engine; a config that does not load is reported in one line and the running one kept;
 * SIGHUPs during a reload give one more reload, not one each.
 */
import { EventEmitter } from 'node:events'
import fs from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { followConfig } from '../../src/cli/follow-config.js'
import type { SignalSource } from '../../src/cli/signals.js'
import type { JobDefinition, ResolvedConfig } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { FakeClock } from '../../src/core/clock.js'
import { Scheduler } from '../../src/core/scheduler.js'
import { CronsError } from '../../src/errors.js'
import { openStore } from '../../src/store/index.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const schedulers: Scheduler[] = []

afterEach(async () => {
  for (const scheduler of schedulers.splice(0)) await scheduler.stop({ graceMs: 0 })
})

const job = (name: string): JobDefinition => ({ name, schedule: '@hourly', run: () => {} })
const configOf = (...names: string[]) =>
  validateConfig({ timezone: 'UTC', jobs: names.map(job) }, { file: 'crons.config.ts' })

async function started(config: ResolvedConfig): Promise<Scheduler> {
  const scheduler = new Scheduler(config, { clock: new FakeClock(T0), store: await openStore(':memory:') })
  schedulers.push(scheduler)
  await scheduler.start()
  return scheduler
}

function signals(): SignalSource & { hup: () => void; listeners: () => number } {
  const emitter = new EventEmitter()
  return {
    on: (event, listener) => emitter.on(event, listener),
    off: (event, listener) => emitter.off(event, listener),
    hup: () => void emitter.emit('SIGHUP', 'SIGHUP'),
    listeners: () => emitter.listenerCount('SIGHUP'),
  }
}

describe('followConfig', () => {
  it('SIGHUP applies the config loaded again; one that does not validate is refused in one line', async () => {
    const scheduler = await started(configOf('a'))
    const source = signals()
    const refused: string[] = []
    let next: () => ResolvedConfig = () => configOf('a', 'b')
    const follower = followConfig({
      scheduler,
      load: async () => next(),
      refused: (message) => void refused.push(message),
      signals: source,
    })
    source.hup()
    await follower.reload()
    expect(scheduler.list().map((j) => j.name)).toEqual(['a', 'b'])

    next = () =>
      validateConfig({ jobs: [{ name: 'c', schedule: '61 * * * *', run: () => {} }] }, { file: 'crons.config.ts' })
    await follower.reload()
    expect(refused).toEqual([
      'crons.config.ts: 1 problem in the config; crons.config.ts: job "c" (jobs[0]) schedule: minute 61 is out of range 0-59 in "61 * * * *"',
    ])
    expect(scheduler.list().map((j) => j.name)).toEqual(['a', 'b'])
    follower.dispose()
    expect(source.listeners()).toBe(0)
  })

  it('signals during a reload give one more reload after it, with the config as it is then', async () => {
    const scheduler = await started(configOf('a'))
    const source = signals()
    let loads = 0
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const follower = followConfig({
      scheduler,
      load: async () => {
        loads++
        if (loads === 1) await gate
        return configOf('a', `v${loads}`)
      },
      refused: () => {},
      signals: source,
    })
    const first = follower.reload()
    source.hup()
    source.hup()
    source.hup()
    release()
    await first
    expect(loads).toBe(2)
    expect(scheduler.list().map((j) => j.name)).toEqual(['a', 'v2'])
    follower.dispose()
  })

  it('after dispose, SIGHUP does nothing', async () => {
    const scheduler = await started(configOf('a'))
    const source = signals()
    let loads = 0
    const follower = followConfig({
      scheduler,
      load: async () => {
        loads++
        return configOf('b')
      },
      refused: () => {},
      signals: source,
    })
    follower.dispose()
    source.hup()
    await follower.reload()
    expect(loads).toBe(0)
    expect(scheduler.list().map((j) => j.name)).toEqual(['a'])
  })

  it('a reload asked once the scheduler has begun to stop is dropped without a word', async () => {
    const scheduler = await started(configOf('a'))
    const refused: string[] = []
    let loads = 0
    const follower = followConfig({
      scheduler,
      load: async () => {
        loads++
        return configOf('a', 'b')
      },
      refused: (message) => void refused.push(message),
      signals: signals(),
    })
    await scheduler.stop({ graceMs: 0 })
    await follower.reload()
    expect({ loads, refused }).toEqual({ loads: 1, refused: [] })
    follower.dispose()
  })

  it('--watch: after a refused reload, saving the running version back says so once (nothing to reload)', async () => {
    const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-follow-'))
    const file = path.join(dir, 'crons.config.ts')
    fs.writeFileSync(file, 'v1')
    const scheduler = await started({ ...configOf('a'), configHash: 'v1' })
    const said: string[] = []
    let restored!: () => void
    const restoredOnce = new Promise<void>((resolve) => {
      restored = resolve
    })
    const follower = followConfig({
      scheduler,
      load: async () => {
        throw new CronsError('CONFIG_SYNTAX', 'crons.config.ts:1:1: Unexpected "oops"')
      },
      refused: (message) => void said.push(`refused: ${message}`),
      restored: () => {
        said.push('restored')
        restored()
      },
      sources: () => ({ files: [file], hash: fs.readFileSync(file, 'utf8'), pending: [] }),
      debounceMs: 10,
      signals: signals(),
    })
    try {
      fs.writeFileSync(file, 'oops')
      await follower.reload()
      expect(said).toEqual(['refused: crons.config.ts:1:1: Unexpected "oops"'])
      fs.writeFileSync(file, 'v1')
      await Promise.race([
        restoredOnce,
        new Promise((_, reject) => setTimeout(() => reject(new Error('no restored notice')), 5000)),
      ])
      expect(said).toEqual(['refused: crons.config.ts:1:1: Unexpected "oops"', 'restored'])
      expect(scheduler.list().map((j) => j.name)).toEqual(['a'])
    } finally {
      follower.dispose()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
