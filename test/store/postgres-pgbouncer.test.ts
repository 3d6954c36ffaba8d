/**
 * Safe behind PgBouncer in transaction mode (SEMANTICS §9): consecutive transactions of one process
 * may land on different server sessions, so the store must keep no state in a session. Every
 * statement the driver is asked to send is watched while a scheduler serves, retries, pauses, prunes
 * and is reaped: no named (server-side prepared) statement, no session-level advisory lock, no
 * LISTEN/NOTIFY, no session setting, no temporary table; transaction-scoped locks only.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { allRuns, World } from '../postgres/hosts.js'
import { freshSchema, stateUrl } from '../postgres/schemas.js'

const T0 = Date.parse('2026-01-05T00:00:00Z')

interface Sent {
  text: string
  name: string | undefined
}

const sent: Sent[] = []
const original = pg.Client.prototype.query

beforeAll(() => {
  // Every query of every pooled connection goes through here, whatever its form (text, config object).
  pg.Client.prototype.query = function watched(this: pg.Client, ...args: unknown[]) {
    const [first] = args
    if (typeof first === 'string') sent.push({ text: first, name: undefined })
    else if (typeof first === 'object' && first !== null) {
      const config = first as { text?: string; name?: string }
      sent.push({ text: config.text ?? '', name: config.name })
    }
    return (original as (...a: unknown[]) => unknown).apply(this, args)
  } as typeof original
})

afterAll(() => {
  pg.Client.prototype.query = original
})

describe('what the Postgres store sends', () => {
  it('keeps nothing in a session: no named statements, session locks, LISTEN, SET or temporary tables', async () => {
    const url = stateUrl(freshSchema())
    const w = new World(T0)
    let failures = 0
    const a = await w.start('a', url, [
      { name: 'tick', schedule: '*/5 * * * * *', run: () => 'ok' },
      {
        name: 'flaky',
        schedule: '*/20 * * * * *',
        retry: { max: 1, backoff: 'constant', initial: '2s' },
        run: () => {
          failures++
          if (failures % 2 === 1) throw new Error('first attempt fails')
          return 'second works'
        },
      },
    ])
    const b = await w.start('b', url, [{ name: 'tick', schedule: '*/5 * * * * *', run: () => 'ok' }])
    await w.run(T0 + 60_000)
    await a.scheduler.pause('tick')
    await w.run(T0 + 70_000)
    await a.scheduler.resume('tick')
    // One host goes silent past its lease: the other reaps it.
    b.clock.block(30_000)
    await w.run(T0 + 100_000)
    await a.scheduler.runJob('tick')
    const runs = await allRuns(a.store)
    await a.store.prune(w.serverNow(), { keepDays: 1, keepRuns: 3 }, { maxMs: 1000 })
    await w.stop()

    expect(runs.some((r) => r.job === 'flaky' && r.attempt === 2 && r.status === 'succeeded')).toBe(true)
    const texts = sent.map((s) => s.text)
    expect(texts.some((t) => /INSERT INTO .*slot_claims/s.test(t))).toBe(true)
    expect(texts.some((t) => /pg_advisory_xact_lock/.test(t))).toBe(true)
    expect(texts.some((t) => /reaped_at = \$1/.test(t))).toBe(true)

    expect(sent.filter((s) => s.name !== undefined)).toEqual([])
    const sessionState = [
      /pg_(try_)?advisory_lock(_shared)?\s*\(/i,
      /\b(UN)?LISTEN\b/i,
      /\bNOTIFY\b|pg_notify/i,
      /^\s*SET\s+(?!LOCAL\b)/im,
      /\bset_config\s*\([^)]*,\s*false\s*\)/i,
      /\bPREPARE\b/i,
      /\bTEMP(ORARY)?\s+TABLE\b/i,
    ]
    expect(texts.filter((t) => sessionState.some((re) => re.test(t)))).toEqual([])
  })
})
