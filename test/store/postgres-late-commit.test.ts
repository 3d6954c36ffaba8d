/**
 * A COMMIT that reaches the server late rather than never (test/postgres/proxy.ts, `delayAfter`): the
 * store gave up on its answer (the driver's query timeout), and the server applies it afterwards,
 * inside its idle-in-transaction timeout. The run it started must not stay `running`, holding its job,
 * because the store looked for it before it existed.
 *
 * The engine's timers run on an injected clock; the driver's timeouts and the delay are real time,
 * shortened through the URL as in postgres-blackhole.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { UNANSWERED_MESSAGE } from '../../src/store/postgres/unanswered.js'
import { allRuns, World } from '../postgres/hosts.js'
import { TcpProxy } from '../postgres/proxy.js'
import { freshSchema, stateUrl, withClient } from '../postgres/schemas.js'

const T0 = Date.parse('2026-01-05T00:00:00Z')
const TIMEOUT_MS = 500
/** Longer than the driver's timeout, well inside the server's 5-s idle-in-transaction timeout. */
const DELAY_MS = 1_500
const cleanups: (() => Promise<void>)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('a COMMIT the server applies after the store gave up on it', () => {
  it('the claim it committed late is recorded interrupted, and the job is not held: later slots run', async () => {
    const schema = freshSchema()
    const proxy = await TcpProxy.to(stateUrl('unused'))
    cleanups.push(() => proxy.close())
    const url = new URL(proxy.through(stateUrl(schema)))
    url.searchParams.set('connect_timeout_ms', String(TIMEOUT_MS))
    url.searchParams.set('query_timeout_ms', String(TIMEOUT_MS))
    const w = new World(T0)
    cleanups.push(() => w.stop())
    const a = await w.start('a', url.toString(), [{ name: 'tens', schedule: '*/10 * * * * *', run: () => 'ok' }])
    await w.run(T0 + 25_000)

    // The claim of slot 30 sends its COMMIT; it reaches the server 1.5 s later, after the store gave up.
    proxy.delayAfter(DELAY_MS, 'runs_id_seq', 'COMMIT')
    await w.run(T0 + 31_000)
    await proxy.delivered
    // The server has applied it: the run's row exists, left `running` by a store that thinks it failed.
    await untilRow(schema, T0 + 30_000)
    await w.run(T0 + 80_000)

    const runs = await allRuns(a.store)
    expect(runs.map((r) => [(r.slot - T0) / 1000, r.status])).toEqual([
      [10, 'succeeded'],
      [20, 'succeeded'],
      [30, 'interrupted'],
      [40, 'succeeded'],
      [50, 'succeeded'],
      [60, 'succeeded'],
      [70, 'succeeded'],
      [80, 'succeeded'],
    ])
    expect(runs[2]).toMatchObject({ errorMessage: UNANSWERED_MESSAGE, active: false })
    expect(runs.filter((r) => r.active)).toEqual([])
  })
})

/** Wait (real time, bounded) until the server has the row of `slot`'s run. */
async function untilRow(schema: string, slot: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const found = await withClient(
      async (client) => (await client.query(`SELECT 1 FROM ${schema}.runs WHERE slot = $1`, [slot])).rowCount,
    )
    if (found) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`no run of slot ${new Date(slot).toISOString()} reached the server`)
}
