/**
 * Losing the database to a network that drops packets silently (SEMANTICS §9): no reset, no close,
 * nothing at all comes back, through a TCP proxy (test/postgres/proxy.ts, `silence()`). Statements
 * on open connections go unanswered and new connections never complete; only the driver's timeouts
 * end them. Once the network is back the connections that were stalled stay dead (as flows a
 * firewall forgot), and new ones work; the connections idle in the pool through the silence are dead as
 * well, and are never used again. A COMMIT the server applied but whose answer was lost
 * (`silenceAfter`) leaves no run `running` that nothing will run, nor does one that reaches the server late (`delayAfter`).
 *
 * The engine's timers run on injected clocks; the driver's timeouts are real time, shortened here
 * through the URL (`connect_timeout_ms`, `query_timeout_ms`) so that the outage costs a few seconds.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { openStore } from '../../src/store/index.js'
import { UNANSWERED_MESSAGE } from '../../src/store/postgres/unanswered.js'
import type { AttemptRecord, Store } from '../../src/store/types.js'
import { accountedSlots, allRuns, expectRecoveredTogether, heldJob, slotsBetween, World } from '../postgres/hosts.js'
import { TcpProxy } from '../postgres/proxy.js'
import { freshSchema, stateUrl, withClient } from '../postgres/schemas.js'

const T0 = Date.parse('2026-01-05T00:00:00Z')
/** The driver's timeouts here: long enough for any statement on this machine, short enough to wait for. */
const TIMEOUT_MS = 500
const cleanups: (() => Promise<void>)[] = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** A world behind a proxy, on a fresh schema, with the driver's timeouts shortened. */
async function setUp(): Promise<{ proxy: TcpProxy; url: string; w: World; faults: unknown[] }> {
  const watch = watchProcess()
  cleanups.push(async () => watch.stop())
  const proxy = await TcpProxy.to(stateUrl('unused'))
  cleanups.push(() => proxy.close())
  const url = new URL(proxy.through(stateUrl(freshSchema())))
  url.searchParams.set('connect_timeout_ms', String(TIMEOUT_MS))
  url.searchParams.set('query_timeout_ms', String(TIMEOUT_MS))
  const w = new World(T0)
  cleanups.push(() => w.stop())
  return { proxy, url: url.toString(), w, faults: watch.faults }
}

/** Every unhandled rejection and uncaught exception from now until `stop()`. */
function watchProcess(): { faults: unknown[]; stop: () => void } {
  const faults: unknown[] = []
  const onFault = (error: unknown) => faults.push(error)
  process.on('unhandledRejection', onFault)
  process.on('uncaughtException', onFault)
  return {
    faults,
    stop: () => {
      process.off('unhandledRejection', onFault)
      process.off('uncaughtException', onFault)
    },
  }
}

describe('the database behind a network that drops packets silently', () => {
  it('two schedulers wait out the driver timeouts: one line each way, the outage recorded missed, nothing lost', async () => {
    const { proxy, url, w, faults } = await setUp()

    const long = heldJob('long', T0 + 25_000)
    const tens = { name: 'tens', schedule: '*/10 * * * * *', misfireGrace: '5s', run: () => 'ok' }
    const a = await w.start('a', url, [tens, long.job])
    // Both at once: every host loses the network together, and their timeouts run side by side.
    const b = await w.start('b', url, [tens])
    await w.run(T0 + 30_000)
    const before = await allRuns(a.store)
    expect(before.find((r) => r.job === 'long')?.status).toBe('running')

    // 16 s of silence: longer than the 10 s lease and the 5 s misfire grace, slot 40 inside it.
    proxy.silence()
    // The job ends while nothing gets through: its outcome cannot be written yet.
    long.finish('done in the dark')
    await w.run(T0 + 46_000)
    // Connections were opened meanwhile, and never answered.
    expect(proxy.held).toBeGreaterThan(0)
    for (const host of [a, b]) {
      expect(host.events.map((e) => e.name).filter((name) => name.startsWith('store:'))).toEqual(['store:unreachable'])
    }
    proxy.restore()
    await w.run(T0 + 150_000)

    const instances = await expectRecoveredTogether([a, b])
    // Both heartbeats go on after the outage: neither was left waiting on a dead connection.
    for (const instance of instances) expect(instance.heartbeatAt).toBeGreaterThan(T0 + 150_000 - 2 * 2_000)

    const runs = await allRuns(a.store)
    // Nothing recorded before the silence is lost or changed (but the run in flight, now finished).
    for (const row of before.filter((r) => r.job !== 'long')) expect(runs).toContainEqual(row)
    expect(runs.find((r) => r.job === 'long')).toMatchObject({ status: 'succeeded', result: '"done in the dark"' })
    // Every slot accounted for exactly once: run, or within the one missed record of the outage.
    expect(accountedSlots(runs, 'tens', 10_000)).toEqual(slotsBetween(T0, T0 + 150_000, 10_000))
    // Slot 40 was found 6 s late, past its grace: missed, once for both hosts; slot 50 ran on time.
    const missed = runs.filter((r) => r.status === 'missed')
    expect(missed.map((r) => JSON.parse(r.detail as string))).toEqual([
      expect.objectContaining({ count: 1, first: T0 + 40_000, last: T0 + 40_000 }),
    ])
    expect(runs.filter((r) => !['succeeded', 'missed'].includes(r.status))).toEqual([])
    expect(faults).toEqual([])
  })

  it.each([
    ['a single statement', (store: Store) => store.listJobs()],
    ['a transaction', (store: Store) => store.syncJobs(['a'], T0)],
  ])(
    'connections left idle through a short silence are dropped after %s went unanswered in it, not used: no statement waits on one',
    async (_, unanswered) => {
      const { proxy, url, faults } = await setUp()
      const store = await openStore(url)
      cleanups.push(() => store.close())
      // Statements at once: the pool opens a connection for each, and keeps them (idle for 30 s, longer than this test).
      await Promise.all(Array.from({ length: 5 }, () => store.listJobs()))
      expect(proxy.open).toBe(5)

      proxy.silence()
      // A statement in the silence goes unanswered: the store has seen the network lose a connection.
      await expect(unanswered(store)).rejects.toThrow(/the connection was lost \(Query read timeout\)$/)
      proxy.restore()

      // The other four connections sat idle through the silence, and their flows are as dead. Statements at once,
      // single ones and transactions, then one after another: every one succeeds on its first try.
      const together = await Promise.allSettled([
        store.listJobs(),
        store.syncJobs(['a'], T0),
        store.activeRuns(),
        store.syncJobs(['b'], T0),
        store.listRuns({}),
      ])
      expect(together.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []))).toEqual([])
      // The connections opened since are trusted: used again, none opened anew.
      const accepted = proxy.accepted
      for (let i = 0; i < 5; i++) {
        await store.listJobs()
        await store.syncJobs(['a', 'b'], T0)
      }
      expect(proxy.accepted).toBe(accepted)
      expect((await store.listJobs()).map((job) => job.name)).toEqual(['a', 'b'])
      expect(faults).toEqual([])
    },
  )

  it('a claim whose commit goes unanswered: its run is recorded interrupted once the database answers, not left running', async () => {
    const { proxy, url, w, faults } = await setUp()
    const a = await w.start('a', url, [{ name: 'tens', schedule: '*/10 * * * * *', run: () => 'ok' }])
    await w.run(T0 + 25_000)
    // The claim of slot 30 reaches the server and commits; its answer, and everything after, is lost.
    proxy.silenceAfter('runs_id_seq', 'COMMIT')
    await w.run(T0 + 35_000)
    expect(a.events.map((e) => e.name)).toEqual(['store:unreachable'])
    proxy.restore()
    await w.run(T0 + 80_000)

    expect(a.events.map((e) => e.name)).toEqual(['store:unreachable', 'store:reachable'])
    expect(a.errors).toEqual([])
    expectSlot30NeverRan(await allRuns(a.store))
    expect(faults).toEqual([])
  })

  it('a claim whose commit reaches the server late, after the store gave up on it: the same, not left running', async () => {
    const { proxy, url, w, faults } = await setUp()
    const a = await w.start('a', url, [{ name: 'tens', schedule: '*/10 * * * * *', run: () => 'ok' }])
    await w.run(T0 + 25_000)
    // Slot 30's COMMIT reaches the server 1.5 s late: past the driver's timeout, inside the server's
    // 5-s idle-in-transaction timeout, so the server applies it after the store looked for its run.
    proxy.delayAfter(1_500, 'runs_id_seq', 'COMMIT')
    await w.run(T0 + 31_000)
    await proxy.delivered
    await untilRunOf(url, T0 + 30_000)
    await w.run(T0 + 80_000)

    expect(a.errors).toEqual([])
    expectSlot30NeverRan(await allRuns(a.store))
    expect(faults).toEqual([])
  })

  it('a manual run whose commit goes unanswered fails in one line, and its row is recorded interrupted', async () => {
    const { proxy, url, w, faults } = await setUp()
    const a = await w.start('a', url, [{ name: 'report', schedule: '0 0 1 1 *', run: () => 'ok' }])
    await w.run(T0 + 5_000)
    proxy.silenceAfter('runs_id_seq', 'COMMIT')
    const running = a.scheduler.runJob('report').then(
      () => undefined,
      (error: unknown) => error as Error,
    )
    await w.run(T0 + 7_000)
    const error = await running
    expect(error?.message).toMatch(
      /^postgres 127\.0\.0\.1:\d+ database "[^"]+": the connection was lost \(Query read timeout\)$/,
    )
    proxy.restore()
    await w.run(T0 + 12_000)

    const runs = await allRuns(a.store)
    expect(runs.map((r) => [r.trigger, r.status, r.errorMessage, r.active])).toEqual([
      ['manual', 'interrupted', UNANSWERED_MESSAGE, false],
    ])
    expect(a.events.map((e) => e.name).filter((name) => name.startsWith('store:'))).toEqual([
      'store:unreachable',
      'store:reachable',
    ])
    // Run again, it starts: nothing holds the job.
    const again = a.scheduler.runJob('report')
    await w.run(T0 + 13_000)
    expect(await again).toMatchObject({ status: 'succeeded' })
    expect(faults).toEqual([])
  })

  it('a scheduler stopped while nothing gets through still stops; a peer that can reach the database interrupts its run', async () => {
    const { proxy, url, w, faults } = await setUp()
    // The peer reaches the same schema directly, not through the proxy that goes silent.
    const direct = new URL(url)
    const target = new URL(stateUrl('unused'))
    direct.host = target.host
    const a = await w.start('a', url, [
      { name: 'stuck', at: new Date(T0 + 5_000).toISOString(), run: () => new Promise<never>(() => undefined) },
    ])
    const b = await w.start('b', direct.toString(), [{ name: 'tens', schedule: '*/10 * * * * *', run: () => 'ok' }])
    await w.run(T0 + 8_000)
    const [stuck] = (await allRuns(b.store)).filter((r) => r.job === 'stuck')
    expect(stuck).toMatchObject({ status: 'running' })

    proxy.silence()
    let stopped = false
    const stopping = a.scheduler.stop({ graceMs: 0 }).then(() => {
      stopped = true
    })
    for (let i = 0; i < 60 && !stopped; i++) await w.run(w.time.now() + 1_000)
    await stopping
    // The stop could write nothing: one line says so, and nothing else went wrong.
    expect(a.errors).toEqual(['could not mark this instance stopped'])
    expect(a.events.filter((e) => e.name === 'scheduler:failed')).toEqual([])

    // Its lease runs out: the peer interrupts the run nobody will finish.
    await w.run(w.time.now() + 15_000)
    expect(await b.store.getRun(stuck?.id ?? 0)).toMatchObject({
      status: 'interrupted',
      active: false,
      errorMessage: 'interrupted: instance a stopped heartbeating',
    })
    expect(b.errors).toEqual([])
    expect(faults).toEqual([])
  })

  it('a retry due while nothing gets through starts once the database answers, instead of being dropped', async () => {
    const { proxy, url, w, faults } = await setUp()
    let calls = 0
    const a = await w.start('a', url, [
      {
        name: 'flaky',
        schedule: '*/30 * * * * *',
        retry: { max: 2, initial: '5s' },
        run: () => {
          calls++
          if (calls === 1) throw new Error('first attempt fails')
          return 'ok'
        },
      },
    ])
    await w.run(T0 + 31_000)
    // The first attempt failed at 30 s; its retry is due at 35 s, in the silence.
    proxy.silence()
    await w.run(T0 + 39_000)
    expect(calls).toBe(1)
    proxy.restore()
    await w.run(T0 + 70_000)

    expect(a.events.map((e) => e.name)).toEqual(['store:unreachable', 'store:reachable'])
    expect(a.errors).toEqual([])
    const runs = await allRuns(a.store)
    expect(runs.map((r) => [(r.slot - T0) / 1000, r.attempt, r.status])).toEqual([
      [30, 1, 'failed'],
      [30, 2, 'succeeded'],
      [60, 1, 'succeeded'],
    ])
    // Started once the database answered, late rather than never.
    expect(runs[1]?.startedAt).toBeGreaterThanOrEqual(T0 + 39_000)
    expect(faults).toEqual([])
  })
})

/**
 * Slot 30's claim committed and its answer never came: the slot stays claimed (its retried claim finds
 * it taken) and its run, never started, says so; the job is not held by it: every later slot runs.
 */
function expectSlot30NeverRan(runs: readonly AttemptRecord[]): void {
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
  expect(runs[2]).toMatchObject({ errorMessage: UNANSWERED_MESSAGE, active: false, finishedAt: T0 + 30_000 })
  expect(runs.filter((r) => r.active)).toEqual([])
}

/** Wait (real time, bounded) until the server has the run of `slot` in the schema of `url`. */
async function untilRunOf(url: string, slot: number): Promise<void> {
  const schema = new URL(url).searchParams.get('schema')
  for (let i = 0; i < 100; i++) {
    const found = await withClient(
      async (client) => (await client.query(`SELECT 1 FROM "${schema}".runs WHERE slot = $1`, [slot])).rowCount,
    )
    if (found) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`no run of slot ${new Date(slot).toISOString()} reached the server`)
}
