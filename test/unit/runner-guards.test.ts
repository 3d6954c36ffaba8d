/**
 * The runner's guards: nothing a job throws, rejects or returns can stop the scheduler or other jobs
 * (SEMANTICS §5), and retries honour `overlap: 'skip'` like scheduled slots do (§6).
 */
import { inspect } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import type { CronsConfig, JobDefinition } from '../../src/config/types.js'
import { validateConfig } from '../../src/config/validate.js'
import { FakeClock } from '../../src/core/clock.js'
import { describeError } from '../../src/core/describe.js'
import type { RunFinishedEvent } from '../../src/core/events.js'
import { EngineEmitter } from '../../src/core/events.js'
import { Recorder } from '../../src/core/recorder.js'
import { Runner } from '../../src/core/runner.js'
import { Scheduler } from '../../src/core/scheduler.js'
import { openStore } from '../../src/store/index.js'
import type { AttemptRecord, Store } from '../../src/store/types.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')
const MIN = 60_000
const iso = (ms: number) => new Date(ms).toISOString()

const schedulers: Scheduler[] = []

afterEach(async () => {
  for (const s of schedulers.splice(0)) await s.stop({ graceMs: 0 })
})

async function harness(
  jobs: JobDefinition[],
  options: { start?: number | string; config?: Partial<CronsConfig> } = {},
) {
  const clock = new FakeClock(options.start ?? T0)
  const store: Store = await openStore(':memory:')
  const config = validateConfig({ timezone: 'UTC', ...options.config, jobs }, { file: 'test' })
  const scheduler = new Scheduler(config, { clock, store, instanceId: 'inst-1', random: () => 0 })
  schedulers.push(scheduler)
  const engineErrors: string[] = []
  scheduler.events.on('engine:error', (e) => engineErrors.push(e.message))
  const finished: RunFinishedEvent[] = []
  scheduler.events.on('run:finished', (e) => finished.push(e))
  return { clock, store, scheduler, engineErrors, finished }
}

async function runs(store: Store, job?: string): Promise<AttemptRecord[]> {
  return (await store.listRuns({ ...(job ? { job } : {}), limit: 10_000 })).reverse()
}

/** An Error whose `message` getter throws (which also makes V8's lazy `stack` throw). */
function evil(): Error {
  const e = new Error('x')
  Object.defineProperty(e, 'message', {
    get() {
      throw new Error('gotcha')
    },
  })
  return e
}

/** A value every read of which throws. */
function hostileProxy(target: object = {}): object {
  const boom = () => {
    throw new Error('trap')
  }
  return new Proxy(target, {
    get: boom,
    getPrototypeOf: boom,
    has: boom,
    ownKeys: boom,
    getOwnPropertyDescriptor: boom,
  })
}

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {})
  revoke()
  return proxy
}

describe('describeError is total', () => {
  const nasty: [string, () => unknown][] = [
    ['an Error whose message getter throws', evil],
    [
      'an Error whose message getter throws an Error whose message getter throws',
      () => {
        const e = new Error('x')
        Object.defineProperty(e, 'message', {
          get() {
            throw evil()
          },
        })
        return e
      },
    ],
    [
      'an Error whose name and message getters throw',
      () => {
        const e = evil()
        Object.defineProperty(e, 'name', {
          get() {
            throw new Error('no name')
          },
        })
        return e
      },
    ],
    ['a Proxy of an Error whose every trap throws', () => hostileProxy(new Error('inside'))],
    ['a Proxy of an object whose every trap throws', () => hostileProxy()],
    ['a revoked Proxy', revoked],
    [
      'an object whose toString, inspect and toStringTag throw',
      () => ({
        toString() {
          throw new Error('toString')
        },
        [inspect.custom]() {
          throw new Error('inspect')
        },
        get [Symbol.toStringTag]() {
          throw new Error('tag')
        },
      }),
    ],
    ['a null-prototype object', () => Object.assign(Object.create(null), { code: 7 })],
    ['a bare null-prototype object', () => Object.create(null)],
    ['a symbol', () => Symbol('s')],
    ['null', () => null],
    ['undefined', () => undefined],
    [
      'an Error whose message is an object with a throwing toString',
      () => {
        const e = new Error('x')
        Object.defineProperty(e, 'message', {
          value: {
            toString() {
              throw new Error('no')
            },
            [inspect.custom]() {
              throw new Error('no')
            },
          },
        })
        return e
      },
    ],
    [
      'an Error whose stack getter throws',
      () => {
        const e = new Error('readable')
        Object.defineProperty(e, 'stack', {
          get() {
            throw new Error('no stack')
          },
        })
        return e
      },
    ],
  ]

  it.each(nasty)('never throws, and gives a non-empty string message, for %s', (_, make) => {
    const described = describeError(make())
    expect(typeof described.message).toBe('string')
    expect(described.message.length).toBeGreaterThan(0)
    if (described.stack !== undefined) expect(typeof described.stack).toBe('string')
  })

  it('keeps the readable parts', () => {
    expect(describeError(evil())).toEqual({ message: 'Error: <unreadable message>' })
    const noStack = new TypeError('readable')
    Object.defineProperty(noStack, 'stack', {
      get() {
        throw new Error('no stack')
      },
    })
    expect(describeError(noStack)).toEqual({ message: 'readable' })
    const symbolMessage = new Error('x')
    Object.defineProperty(symbolMessage, 'message', { value: Symbol('why') })
    expect(describeError(symbolMessage).message).toBe('Symbol(why)')
    expect(describeError(revoked()).message).toBe('non-Error thrown: <Revoked Proxy>')
    expect(describeError(Object.create(null)).message).toBe('non-Error thrown: [Object: null prototype] {}')
    expect(describeError(null).message).toBe('non-Error thrown: null')
    expect(describeError(hostileProxy()).message).toMatch(/^non-Error thrown: /)
    const both = evil()
    Object.defineProperty(both, 'name', {
      get() {
        throw new Error('no name')
      },
    })
    expect(describeError(both)).toEqual({ message: '<unreadable error>' })
  })

  it('describes ordinary errors as before', () => {
    const e = new RangeError('too big')
    expect(describeError(e)).toEqual({ message: 'too big', stack: e.stack })
    expect(describeError(new Error(''))).toMatchObject({ message: 'Error' })
    expect(describeError('plain')).toEqual({ message: 'plain' })
    expect(describeError({ code: 42 })).toEqual({ message: 'non-Error thrown: { code: 42 }' })
  })
})

describe('a job cannot stop other jobs with what it throws, rejects or returns', () => {
  it('an error whose message getter throws fails its own run only (the reported repro)', async () => {
    const { clock, store, scheduler, engineErrors } = await harness(
      [
        { name: 'a', schedule: '* * * * *', run: () => {} },
        {
          name: 'b',
          schedule: '* * * * *',
          run: () => {
            throw evil()
          },
        },
        { name: 'c', schedule: '* * * * *', run: () => {} },
        {
          name: 'd',
          schedule: '* * * * *',
          run: async () => {
            throw evil()
          },
        },
      ],
      { start: '2026-01-01T00:00:30Z' },
    )
    await scheduler.start()
    await clock.advanceTo('2026-01-01T00:03:30Z')
    await scheduler.stop({ graceMs: 0 })
    const slots = [1, 2, 3].map((m) => T0 + m * MIN)
    for (const job of ['a', 'c']) {
      expect((await runs(store, job)).map((r) => [iso(r.slot), r.status])).toEqual(
        slots.map((s) => [iso(s), 'succeeded']),
      )
    }
    for (const job of ['b', 'd']) {
      expect((await runs(store, job)).map((r) => [iso(r.slot), r.status, r.errorMessage])).toEqual(
        slots.map((s) => [iso(s), 'failed', 'Error: <unreadable message>']),
      )
    }
    expect((await store.activeRuns()).length).toBe(0)
    expect(engineErrors).toEqual([])
  })

  it('hostile thrown and rejected values (proxies, revoked proxies, null prototypes) fail their run only', async () => {
    const values: [string, () => unknown][] = [
      ['proxy', () => hostileProxy(new Error('inside'))],
      ['revoked', revoked],
      ['nullproto', () => Object.create(null)],
      [
        'tostring',
        () => ({
          toString() {
            throw new Error('no')
          },
          [inspect.custom]() {
            throw new Error('no')
          },
        }),
      ],
    ]
    const jobs: JobDefinition[] = values.flatMap(([name, make]) => [
      {
        name: `sync-${name}`,
        schedule: '* * * * *',
        run: () => {
          throw make()
        },
      },
      { name: `async-${name}`, schedule: '* * * * *', run: () => Promise.reject(make()) },
    ])
    jobs.push({ name: 'ok', schedule: '* * * * *', run: () => 'fine' })
    const { clock, store, scheduler, engineErrors } = await harness(jobs)
    await scheduler.start()
    await clock.advanceTo(T0 + 2 * MIN + 30_000)
    await scheduler.stop({ graceMs: 0 })
    const all = await runs(store)
    expect(all.filter((r) => r.job === 'ok').map((r) => r.status)).toEqual(['succeeded', 'succeeded'])
    const others = all.filter((r) => r.job !== 'ok')
    expect(others).toHaveLength(values.length * 2 * 2)
    for (const r of others) {
      expect(r.status).toBe('failed')
      expect(r.errorMessage).toMatch(/^non-Error thrown: |^Error: /)
    }
    expect(engineErrors).toEqual([])
  })

  it('a returned object whose then getter throws fails that run, as Promise.resolve would reject it', async () => {
    const hostileThen = () => {
      const value = {}
      Object.defineProperty(value, 'then', {
        get() {
          throw new Error('then getter')
        },
      })
      return value
    }
    const overriddenThen = () => {
      const p = new Promise(() => {})
      Object.defineProperty(p, 'then', {
        value: () => {
          throw new Error('own then')
        },
      })
      return p
    }
    const twice = () => {
      const p = Promise.resolve('first')
      Object.defineProperty(p, 'then', {
        value: (ok: (v: unknown) => void, fail: (e: unknown) => void) => {
          ok('first')
          fail(new Error('then the other'))
          ok('again')
        },
      })
      return p
    }
    const badConstructor = () => {
      const p = Promise.resolve(1)
      Object.defineProperty(p, 'constructor', {
        get() {
          throw new Error('constructor getter')
        },
      })
      return p
    }
    const { clock, store, scheduler, engineErrors } = await harness([
      { name: 'hostile-then', schedule: '* * * * *', run: hostileThen },
      {
        name: 'evil-then',
        schedule: '* * * * *',
        run: () =>
          Object.defineProperty({}, 'then', {
            get: () => {
              throw evil()
            },
          }),
      },
      { name: 'own-then', schedule: '* * * * *', run: overriddenThen },
      { name: 'twice', schedule: '* * * * *', run: twice },
      { name: 'bad-constructor', schedule: '* * * * *', run: badConstructor },
      { name: 'ok', schedule: '* * * * *', run: async () => 'fine' },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + 2 * MIN + 30_000)
    await scheduler.stop({ graceMs: 0 })
    const by = async (job: string) => (await runs(store, job)).map((r) => [r.status, r.errorMessage ?? r.result])
    expect(await by('hostile-then')).toEqual([
      ['failed', 'then getter'],
      ['failed', 'then getter'],
    ])
    expect(await by('evil-then')).toEqual([
      ['failed', 'Error: <unreadable message>'],
      ['failed', 'Error: <unreadable message>'],
    ])
    expect(await by('own-then')).toEqual([
      ['failed', 'own then'],
      ['failed', 'own then'],
    ])
    expect(await by('twice')).toEqual([
      ['succeeded', '"first"'],
      ['succeeded', '"first"'],
    ])
    expect(await by('bad-constructor')).toEqual([
      ['failed', 'constructor getter'],
      ['failed', 'constructor getter'],
    ])
    expect(await by('ok')).toEqual([
      ['succeeded', '"fine"'],
      ['succeeded', '"fine"'],
    ])
    expect(await store.activeRuns()).toEqual([])
    expect(engineErrors).toEqual([])
  })

  it('a result that can be neither serialised nor inspected is recorded as such, and the run succeeds', async () => {
    const unserialisable = () => ({
      toJSON() {
        throw new Error('no json')
      },
      [inspect.custom]() {
        throw new Error('no inspect')
      },
    })
    const { clock, store, scheduler, engineErrors } = await harness([
      { name: 'sync', schedule: '* * * * *', run: unserialisable },
      { name: 'async', schedule: '* * * * *', run: async () => unserialisable() },
      { name: 'revoked', schedule: '* * * * *', run: async () => revoked() },
    ])
    await scheduler.start()
    await clock.advanceTo(T0 + MIN + 30_000)
    await scheduler.stop({ graceMs: 0 })
    const by = async (job: string) => (await runs(store, job)).map((r) => [r.status, r.result ?? r.errorMessage])
    expect(await by('sync')).toEqual([['succeeded', '"<unserialisable result>"']])
    expect(await by('async')).toEqual([['succeeded', '"<unserialisable result>"']])
    // Resolving a promise with a revoked proxy reads its `then`, which throws: it rejects.
    expect(await by('revoked')).toEqual([['failed', expect.stringMatching(/revoked/)]])
    expect(engineErrors).toEqual([])
  })
})

describe("retries honour overlap 'skip'", () => {
  const hangingJob = (calls: number[], clock: () => FakeClock, overlap?: 'allow'): JobDefinition => ({
    name: 'hang',
    schedule: '0 * * * *',
    timeout: '5s',
    retry: { max: 2, backoff: 'constant', initial: '1s' },
    ...(overlap ? { overlap } : {}),
    run: () => {
      calls.push(clock().now())
      return new Promise(() => {})
    },
  })

  it('a retry does not start while the timed-out previous attempt is still running: it is recorded skipped', async () => {
    const calls: number[] = []
    let clockRef: FakeClock | undefined
    const h = await harness([hangingJob(calls, () => clockRef as FakeClock)])
    clockRef = h.clock
    const { clock, store, scheduler, engineErrors, finished } = h
    await scheduler.start()
    await clock.advanceTo(T0 + 60 * MIN + 30_000)
    expect(calls).toEqual([T0 + 60 * MIN])
    const rows = await runs(store, 'hang')
    expect(rows.map((r) => [r.attempt, r.status, r.active])).toEqual([
      [1, 'timed_out', true],
      [2, 'skipped', false],
    ])
    const [first, skipped] = rows as [AttemptRecord, AttemptRecord]
    expect(skipped).toMatchObject({ slot: T0 + 60 * MIN, startedAt: T0 + 60 * MIN + 6000, trigger: 'schedule' })
    expect(skipped.detail).toBe(`still running: run ${first.id} on instance inst-1 since ${iso(T0 + 60 * MIN)}`)
    expect(finished.map((e) => [e.attempt, e.status, e.error?.message, e.retryInMs])).toEqual([
      [1, 'timed_out', 'timed out after 5s', 1000],
      [2, 'skipped', skipped.detail, undefined],
    ])
    expect(engineErrors).toEqual([])
  })

  it('a manual run whose retry is skipped returns the last failure (the attempt that ran)', async () => {
    const calls: number[] = []
    let clockRef: FakeClock | undefined
    const h = await harness([hangingJob(calls, () => clockRef as FakeClock)])
    clockRef = h.clock
    const result = h.scheduler.runJob('hang')
    await h.clock.advance(30_000)
    const rows = await runs(h.store, 'hang')
    expect(rows.map((r) => [r.attempt, r.status, r.trigger])).toEqual([
      [1, 'timed_out', 'manual'],
      [2, 'skipped', 'manual'],
    ])
    const { recorded, ...ran } = await result
    // The attempt that ran, also as recorded (its code still executing: the job stays held).
    expect(recorded).toMatchObject({ id: rows[0]?.id, status: 'timed_out', attempt: 1, active: true })
    expect(ran).toEqual({
      runId: rows[0]?.id,
      status: 'timed_out',
      attempts: 1,
      error: { message: 'timed out after 5s' },
    })
    expect(calls).toHaveLength(1)
  })

  it("with overlap 'allow', retries start while earlier attempts still run (as before)", async () => {
    const calls: number[] = []
    let clockRef: FakeClock | undefined
    const h = await harness([hangingJob(calls, () => clockRef as FakeClock, 'allow')])
    clockRef = h.clock
    await h.scheduler.start()
    await h.clock.advanceTo(T0 + 60 * MIN + 30_000)
    const start = T0 + 60 * MIN
    expect(calls).toEqual([start, start + 6000, start + 12_000])
    expect((await runs(h.store, 'hang')).map((r) => [r.attempt, r.status])).toEqual([
      [1, 'timed_out'],
      [2, 'timed_out'],
      [3, 'timed_out'],
    ])
  })

  const slowFailing = (
    clock: () => FakeClock,
    live: { now: number; max: number },
    overlap?: 'allow',
  ): JobDefinition => ({
    name: 'slow',
    schedule: '* * * * *',
    retry: { max: 1, backoff: 'constant', initial: '50s' },
    ...(overlap ? { overlap } : {}),
    run: () => {
      live.now++
      live.max = Math.max(live.max, live.now)
      return new Promise((_, reject) =>
        clock().setTimeout(() => {
          live.now--
          reject(new Error('failed after 20s'))
        }, 20_000),
      )
    },
  })

  it("a retry is skipped while the next slot's run executes, so two runs of a 'skip' job never overlap", async () => {
    const live = { now: 0, max: 0 }
    let clockRef: FakeClock | undefined
    const h = await harness([slowFailing(() => clockRef as FakeClock, live)])
    clockRef = h.clock
    await h.scheduler.start()
    await h.clock.advanceTo(T0 + 3 * MIN + 30_000)
    expect(live.max).toBe(1)
    const rows = await runs(h.store, 'slow')
    const bySlot = (m: number) =>
      rows.filter((r) => r.slot === T0 + m * MIN).map((r) => [r.attempt, r.status, iso(r.startedAt)])
    expect(bySlot(1)).toEqual([
      [1, 'failed', iso(T0 + MIN)],
      [2, 'skipped', iso(T0 + 2 * MIN + 10_000)],
    ])
    expect(bySlot(2)).toEqual([
      [1, 'failed', iso(T0 + 2 * MIN)],
      [2, 'skipped', iso(T0 + 3 * MIN + 10_000)],
    ])
    const holder = rows.find((r) => r.slot === T0 + 2 * MIN && r.attempt === 1) as AttemptRecord
    const skipped = rows.find((r) => r.slot === T0 + MIN && r.attempt === 2) as AttemptRecord
    expect(skipped.detail).toBe(`still running: run ${holder.id} on instance inst-1 since ${iso(T0 + 2 * MIN)}`)
    expect(h.engineErrors).toEqual([])
  })

  it("with overlap 'allow', that retry runs alongside the next slot's run (as before)", async () => {
    const live = { now: 0, max: 0 }
    let clockRef: FakeClock | undefined
    const h = await harness([slowFailing(() => clockRef as FakeClock, live, 'allow')])
    clockRef = h.clock
    await h.scheduler.start()
    await h.clock.advanceTo(T0 + 3 * MIN + 30_000)
    expect(live.max).toBe(2)
    const rows = await runs(h.store, 'slow')
    expect(rows.filter((r) => r.slot === T0 + MIN).map((r) => [r.attempt, r.status, iso(r.startedAt)])).toEqual([
      [1, 'failed', iso(T0 + MIN)],
      [2, 'failed', iso(T0 + 2 * MIN + 10_000)],
    ])
  })

  it('a retry is skipped while another process runs the job', async () => {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const config = validateConfig(
      {
        timezone: 'UTC',
        jobs: [
          {
            name: 'flaky',
            schedule: '0 0 1 1 *',
            retry: { max: 3, backoff: 'constant', initial: '10s' },
            run: () => {
              throw new Error('boom')
            },
          },
        ],
      },
      { file: 'test' },
    )
    const scheduler = new Scheduler(config, { clock, store, instanceId: 'here', random: () => 0 })
    schedulers.push(scheduler)
    const result = scheduler.runJob('flaky')
    await clock.advance(1)
    // Meanwhile another process starts the job (a forced manual run there).
    await store.registerInstance({ id: 'peer', role: 'runner', host: 'elsewhere', pid: 7, now: clock.now() })
    const peer = await store.beginRun(
      { job: 'flaky', slot: clock.now(), trigger: 'manual', attempt: 1, overlap: 'allow' },
      'peer',
      clock.now(),
    )
    if (peer.kind !== 'started') throw new Error('expected started')
    await clock.advance(60_000)
    expect(await result).toMatchObject({ status: 'failed', attempts: 1, error: { message: 'boom' } })
    const rows = (await runs(store, 'flaky')).filter((r) => r.instanceId === 'here')
    expect(rows.map((r) => [r.attempt, r.status, r.detail])).toEqual([
      [1, 'failed', null],
      [2, 'skipped', `still running: run ${peer.runId} on instance peer since ${iso(T0 + 1)}`],
    ])
  })

  it('a run started with overlap allow (run-job --force) retries regardless', async () => {
    const clock = new FakeClock(T0)
    const store = await openStore(':memory:')
    const events = new EngineEmitter()
    const config = validateConfig(
      {
        timezone: 'UTC',
        jobs: [
          {
            name: 'flaky',
            schedule: '0 0 1 1 *',
            retry: { max: 1, backoff: 'constant', initial: '1s' },
            run: () => {
              throw new Error('boom')
            },
          },
        ],
      },
      { file: 'test' },
    )
    const job = config.jobs[0] as (typeof config.jobs)[number]
    const recorder = new Recorder(store, events)
    const runner = new Runner({
      store,
      recorder,
      clock,
      events,
      instanceId: () => 'here',
      hooks: () => ({}),
      random: () => 0,
      echoConsole: true,
    })
    await store.registerInstance({ id: 'here', role: 'runner', host: 'h', pid: 1, now: T0 })
    const holder = await store.beginRun(
      { job: 'flaky', slot: T0, trigger: 'schedule', attempt: 1, overlap: 'allow' },
      'here',
      T0,
    )
    const forced = await store.beginRun(
      { job: 'flaky', slot: T0, trigger: 'manual', attempt: 1, overlap: 'allow' },
      'here',
      T0,
    )
    if (holder.kind !== 'started' || forced.kind !== 'started') throw new Error('expected started')
    const request = { job, runId: forced.runId, slot: T0, trigger: 'manual', initiator: 'cli' } as const
    const result = runner.execute({ ...request, overlap: 'allow' })
    await clock.advance(5000)
    expect(await result).toMatchObject({ status: 'failed', attempts: 2 })
    // Without it, the retry finds the other run and is skipped.
    const second = await store.beginRun(
      { job: 'flaky', slot: T0, trigger: 'manual', attempt: 1, overlap: 'allow' },
      'here',
      clock.now(),
    )
    if (second.kind !== 'started') throw new Error('expected started')
    const skipped = runner.execute({ ...request, runId: second.runId })
    await clock.advance(5000)
    expect(await skipped).toMatchObject({ status: 'failed', attempts: 1 })
    const statuses = (await runs(store, 'flaky')).map((r) => [r.trigger, r.attempt, r.status])
    expect(statuses).toEqual([
      ['schedule', 1, 'running'],
      ['manual', 1, 'failed'],
      ['manual', 2, 'failed'],
      ['manual', 1, 'failed'],
      ['manual', 2, 'skipped'],
    ])
    await runner.drain(0, 'test over')
    await store.close()
  })
})
