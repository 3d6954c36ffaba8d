/**
 * The store's clock and reachability as the engine watches them: a skew reported when it appears,
 * changes or goes away (never at each measurement), the offset measured again when the host's clock
 * steps, a store out of reach said once per outage while other failures are said each time, and the
 * lines `start-scheduler` prints for them.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { printEvents } from '../../src/cli/events.js'
import { FakeClock, StoreTimeClock } from '../../src/core/clock.js'
import { ClockSync } from '../../src/core/clock-sync.js'
import { EngineEmitter } from '../../src/core/events.js'
import { Outage } from '../../src/core/outage.js'
import { CronsError } from '../../src/errors.js'
import { openStore } from '../../src/store/index.js'
import type { Store } from '../../src/store/types.js'

const T0 = Date.parse('2026-01-05T00:00:00Z')

afterEach(() => {
  vi.unstubAllEnvs()
})

/** A store whose clock is `server()` (what a round trip to the database server would measure). */
async function storeOnClock(server: () => number): Promise<Store> {
  const store = await openStore(':memory:')
  store.clockOffset = async (hostNow = Date.now) => server() - hostNow()
  return store
}

describe('ClockSync', () => {
  it('reports a skew when it appears, changes by more than a second, and goes away; records each measurement', async () => {
    const host = new FakeClock(T0)
    let serverSkew = 0
    const store = await storeOnClock(() => host.now() + serverSkew)
    const clock = new StoreTimeClock(host)
    const events = new EngineEmitter()
    const skews: unknown[] = []
    events.on('clock:skew', (e) => skews.push(e))
    const recorded: number[] = []
    const sync = new ClockSync({ clock, events, measured: async (ms) => void recorded.push(ms) })

    for (const skew of [300, 4_000, 4_500, 6_000, 800, 900]) {
      serverSkew = skew
      await sync.measure(store)
      expect(clock.now()).toBe(host.now() + skew)
    }
    expect(skews).toEqual([
      { offsetMs: 4_000, skewed: true },
      { offsetMs: 6_000, skewed: true },
      { offsetMs: 800, skewed: false },
    ])
    expect(recorded).toEqual([300, 4_000, 4_500, 6_000, 800, 900])
    await store.close()
  })

  it('measures again after a minute, or at once when a timer fires more than a second off its plan', async () => {
    const host = new FakeClock(T0)
    const store = await storeOnClock(() => T0 + (host.now() - T0))
    let measured = 0
    const sync = new ClockSync({
      clock: new StoreTimeClock(host),
      events: new EngineEmitter(),
      measured: async () => void measured++,
    })
    await sync.measure(store)
    await host.advance(30_000)
    expect(sync.noteTimer(host.now() - 500)).toBe(false)
    expect(await sync.check(store)).toBe(false)
    await host.advance(30_000)
    expect(await sync.check(store)).toBe(true)
    // The host's clock stepped: a timer planned for now fires 5 minutes "late".
    const planned = host.now()
    host.jump(300_000)
    expect(sync.noteTimer(planned)).toBe(true)
    expect(sync.stale).toBe(true)
    expect(await sync.check(store)).toBe(true)
    expect(sync.stale).toBe(false)
    expect(measured).toBe(3)
    await store.close()
  })
})

describe('Outage', () => {
  const unreachable = new CronsError('STATE_UNREACHABLE', 'postgres db:5432 database "app": the connection was lost')

  it('says a store out of reach once per outage, and that it is back once; other failures each time', () => {
    const clock = new FakeClock(T0)
    const events = new EngineEmitter()
    const seen: string[] = []
    events.on('store:unreachable', (e) => seen.push(`away: ${e.message}`))
    events.on('store:reachable', (e) => seen.push(`back after ${e.downMs}`))
    events.on('engine:error', (e) => seen.push(`error: ${e.message}`))
    let woken = 0
    const outage = new Outage(clock, events, () => woken++)

    outage.answered()
    outage.failed('heartbeat failed', unreachable)
    outage.failed('could not claim 2 slot(s)', unreachable)
    outage.failed('could not claim 2 slot(s)', new Error('syntax error at or near "SELEC"'))
    expect(outage.down).toBe(true)
    expect(outage.failureCount).toBe(2)
    clock.jump(42_000)
    outage.answered()
    outage.answered()
    outage.failed('heartbeat failed', unreachable)
    expect(seen).toEqual([
      'away: heartbeat failed',
      'error: could not claim 2 slot(s)',
      'back after 42000',
      'away: heartbeat failed',
    ])
    expect(woken).toBe(1)
  })
})

describe('the lines start-scheduler prints', () => {
  it('one line each for a skew, its end, the store going away and coming back', () => {
    vi.stubEnv('NO_COLOR', '1')
    const events = new EngineEmitter()
    const lines: string[] = []
    printEvents(events, 'text', (line) => lines.push(line.replace(/^\S+ /, '')))
    events.emit('clock:skew', { offsetMs: -300_000, skewed: true })
    events.emit('clock:skew', { offsetMs: 12, skewed: false })
    events.emit('store:unreachable', {
      message: 'heartbeat failed',
      error: new CronsError(
        'STATE_UNREACHABLE',
        'postgres db:5432 database "app": cannot connect (connect ECONNREFUSED)',
      ),
    })
    events.emit('store:reachable', { downMs: 95_000 })
    expect(lines).toEqual([
      "clock  this host's clock is 5m ahead of the state's (the database server's); scheduling on the server's time",
      "clock  this host's clock is back within 1s of the state's (offset 12 ms)",
      'state  heartbeat failed: postgres db:5432 database "app": cannot connect (connect ECONNREFUSED); retrying until it answers (slots past their misfire grace meanwhile will be recorded missed)',
      'state  reachable again after 1m 35s',
    ])
  })

  it('an error of several lines is said by its first; a log text of several lines is one line each, with the time', () => {
    vi.stubEnv('NO_COLOR', '1')
    const events = new EngineEmitter()
    const written: string[] = []
    printEvents(events, 'text', (line) => written.push(line))
    const run = {
      runId: 1,
      job: 'j',
      attempt: 1,
      slot: T0,
      trigger: 'schedule' as const,
      initiator: 'scheduler' as const,
      startedAt: T0,
    }
    events.emit('run:log', { runId: 1, job: 'j', attempt: 1, level: 'warn', text: 'a\nb', at: T0 })
    events.emit('run:finished', {
      ...run,
      status: 'failed',
      finishedAt: T0 + 1000,
      durationMs: 1000,
      error: { message: 'first line\nsecond line' },
      retryInMs: 5000,
    })
    events.emit('hook:failed', { job: 'j', hook: 'afterRun', runId: 1, message: 'hook broke\nat line 2' })
    events.emit('engine:error', { message: 'a wake-up of the scheduler failed', error: new Error('one\ntwo') })
    const lines = written.flatMap((chunk) => chunk.split('\n'))
    expect(lines.filter((line) => !/^\d{4}-\d\d-\d\dT\S+Z /.test(line))).toEqual([])
    expect(lines.map((line) => line.replace(/^\S+ /, ''))).toEqual([
      'log    j warn a',
      'log    j warn b',
      'finish j slot 2026-01-05T00:00:00.000Z attempt 1 failed in 1s: first line, retry in 5s',
      'hook   j afterRun failed: hook broke',
      'error  a wake-up of the scheduler failed: one',
    ])
  })

  it('as JSON lines with --log-format json', () => {
    const events = new EngineEmitter()
    const lines: string[] = []
    printEvents(events, 'json', (line) => lines.push(line))
    events.emit('clock:skew', { offsetMs: 2_500, skewed: true })
    events.emit('store:reachable', { downMs: 3_000 })
    const first = Date.parse('2026-01-15T10:00:00Z')
    events.emit('slot:missed', { job: 'j', runId: 7, missed: { count: 2, first, last: first + 60_000 }, catchUp: true })
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      { time: expect.any(String), event: 'clock:skew', offsetMs: 2_500, skewed: true },
      { time: expect.any(String), event: 'store:reachable', downMs: 3_000 },
      {
        time: expect.any(String),
        event: 'slot:missed',
        job: 'j',
        runId: 7,
        // Instants as ISO strings, as everywhere else in the JSON lines.
        missed: { count: 2, first: '2026-01-15T10:00:00.000Z', last: '2026-01-15T10:01:00.000Z' },
        catchUp: true,
      },
    ])
  })
})
