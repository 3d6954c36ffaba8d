/** The store keeps its last outcome write alive between flushes (see src/shapes.ts). */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { keepShape } from '../../src/shapes.js'
import { openStore } from '../../src/store/index.js'
import type { Store } from '../../src/store/types.js'
import { claim, T0 } from './contract-kit.js'

vi.mock('../../src/shapes.js', () => ({ keepShape: vi.fn() }))

let store: Store | undefined

afterEach(async () => {
  await store?.close()
  store = undefined
  vi.mocked(keepShape).mockClear()
})

describe('SqliteStore keeps the shape of its outcome writes', () => {
  it('keeps the last outcome of each flush', async () => {
    store = await openStore(':memory:')
    const outcomes = await store.claimSlots([claim('a', T0), claim('b', T0)], 'A', T0)
    const [a, b] = outcomes.map((o) => (o.kind === 'started' ? o.runId : Number.NaN))
    await Promise.all([
      store.finishRun(a as number, { status: 'succeeded', finishedAt: T0 + 5, settled: true }),
      store.finishRun(b as number, { status: 'failed', finishedAt: T0 + 6, errorMessage: 'boom', settled: true }),
    ])
    const kept = vi.mocked(keepShape).mock.calls.filter(([kind]) => kind === 'outcome write')
    expect(kept).toHaveLength(1)
    expect(kept[0]?.[1]).toMatchObject({ id: b, status: 'failed', errorMessage: 'boom' })
  })
})
