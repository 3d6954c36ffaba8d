/**
 * Keeping one object of each hot kind alive (src/shapes.ts) must keep exactly that one: the latest,
 * through a full garbage collection, while the one it replaced (and every earlier run's objects) can
 * be collected. Checked with WeakRefs and real full collections, never with timings.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterEach, describe, expect, it } from 'vitest'
import type { JobContext } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { FakeClock } from '../../src/core/clock.js'
import { Scheduler } from '../../src/core/scheduler.js'
import { keepShape } from '../../src/shapes.js'
import { openStore } from '../../src/store/index.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** A full collection once this turn is over (a WeakRef made or read in a turn holds its target until the turn ends). */
async function collect(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve))
  gc()
}

const T0 = Date.parse('2026-01-01T00:00:00Z')
const stoppers: (() => Promise<void>)[] = []

afterEach(async () => {
  for (const stop of stoppers.splice(0)) await stop()
})

describe('keepShape', () => {
  it('keeps the latest object of a kind through a full collection and lets the one it replaced go', async () => {
    const kind = 'test: replaced'
    const first = new WeakRef(make())
    keepShape(kind, first.deref())
    await collect()
    expect(first.deref()).toBeDefined()

    keepShape(kind, undefined)
    await collect()
    expect(first.deref(), 'nothing to keep leaves the kept one in place').toBeDefined()

    const second = new WeakRef(make())
    keepShape(kind, second.deref())
    await collect()
    expect(first.deref()).toBeUndefined()
    expect(second.deref()).toBeDefined()
  })

  it('keeps one object per kind', async () => {
    const a = new WeakRef(make())
    const b = new WeakRef(make())
    keepShape('test: a', a.deref())
    keepShape('test: b', b.deref())
    await collect()
    expect(a.deref()).toBeDefined()
    expect(b.deref()).toBeDefined()
  })
})

describe('the runner keeps the last job it started', () => {
  it("keeps the latest run's context alive between instants, and no earlier one", async () => {
    const contexts: WeakRef<JobContext>[] = []
    const config = validateConfig(
      {
        timezone: 'UTC',
        jobs: [
          { name: 'tick', schedule: '* * * * * *', run: (ctx: JobContext) => void contexts.push(new WeakRef(ctx)) },
        ],
      },
      { file: 'test' },
    )
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const scheduler = new Scheduler(config, { clock, store, random: () => 0 })
    stoppers.push(() => scheduler.stop({ graceMs: 0 }))
    await scheduler.start()
    await clock.advance(4000)
    await collect()
    expect(contexts.length).toBeGreaterThanOrEqual(3)
    const alive = contexts.map((ref) => ref.deref() !== undefined)
    expect(alive.at(-1), 'the last run started').toBe(true)
    expect(alive.slice(0, -1), 'every earlier run').not.toContain(true)
  })
})

/** A fresh object, made in a function of its own so that no local of the test holds it. */
function make(): object {
  return { made: Math.random() }
}
