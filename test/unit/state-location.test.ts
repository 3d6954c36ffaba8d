import { describe, expect, it } from 'vitest'
import { describeLocation, parseStateLocation } from '../../src/store/location.js'

describe('state locations', () => {
  it('parses files (relative to a base), memory and Postgres URLs with schema and pool', () => {
    expect(parseStateLocation('data/crons.db', '/srv/app')).toEqual({ kind: 'file', path: '/srv/app/data/crons.db' })
    expect(parseStateLocation(':memory:', '/x')).toEqual({ kind: 'memory' })
    expect(parseStateLocation('postgres://u:p@db:5432/app', '/x')).toEqual({
      kind: 'postgres',
      url: 'postgres://u:p@db:5432/app',
      schema: 'crons',
    })
    expect(parseStateLocation('postgresql://u@db/app?sslmode=require&schema=jobs&pool=3', '/x')).toEqual({
      kind: 'postgres',
      url: 'postgresql://u@db/app?sslmode=require',
      schema: 'jobs',
      poolSize: 3,
    })
    expect(
      parseStateLocation('postgres://u@db/app?connect_timeout_ms=2500&query_timeout_ms=30000&sslmode=require', '/x'),
    ).toEqual({
      kind: 'postgres',
      url: 'postgres://u@db/app?sslmode=require',
      schema: 'crons',
      connectTimeoutMs: 2500,
      queryTimeoutMs: 30_000,
    })
    // The names libpq (connect_timeout, seconds) and node-postgres (query_timeout, ms) read mean the same here.
    expect(parseStateLocation('postgres://u@db/app?connect_timeout=5&query_timeout=8000', '/x')).toEqual({
      kind: 'postgres',
      url: 'postgres://u@db/app',
      schema: 'crons',
      connectTimeoutMs: 5000,
      queryTimeoutMs: 8000,
    })
  })

  it('shows a Postgres location without its password, with a schema that is not the default', () => {
    expect(describeLocation(parseStateLocation('postgres://u:pw@db/app', '/'))).toBe('postgres://u:***@db/app')
    expect(describeLocation(parseStateLocation('postgres://u:pw@db/app?schema=jobs', '/'))).toBe(
      'postgres://u:***@db/app?schema=jobs',
    )
  })

  it('refuses bad URLs in one line, without the password', () => {
    for (const [value, message] of [
      ['postgres://u:pw@db:port/app', 'postgres://***@db:port/app: not a valid URL'],
      ['postgres://u:pw@db/', 'postgres://u:***@db/: no database name'],
      ['postgres://u:pw@db/app?schema=a-b', 'schema "a-b" is not a plain name'],
      ['postgres://u:pw@db/app?pool=0', 'pool "0" is not valid; expected a whole number from 1 to 100'],
      ['postgres://u:pw@db/app?schema=a&schema=b', '"schema" is given 2 times'],
      ['postgres://u:pw@db/app?pool=2&pool=3', '"pool" is given 2 times'],
      [
        'postgres://u:pw@db/app?query_timeout_ms=15s',
        'query_timeout_ms "15s" is not valid; expected a whole number from 100 to 30000',
      ],
      [
        'postgres://u:pw@db/app?connect_timeout_ms=50',
        'connect_timeout_ms "50" is not valid; expected a whole number from 100 to 30000',
      ],
      ['postgres://u:pw@db/app?connect_timeout_ms=', 'connect_timeout_ms "" is not valid'],
      [
        'postgres://u:pw@db/app?connect_timeout=0',
        'connect_timeout "0" is not valid; expected a whole number from 1 to 30',
      ],
      [
        'postgres://u:pw@db/app?query_timeout=5000&query_timeout_ms=6000',
        'both query_timeout_ms and query_timeout are given; keep one',
      ],
      ['redis://u:pw@db/0', 'unsupported URL scheme "redis://"'],
    ] as const) {
      const attempt = () => parseStateLocation(value, '/')
      expect(attempt, value).toThrow(message)
      try {
        attempt()
      } catch (error) {
        expect((error as Error).message).not.toContain(':pw@')
        expect((error as Error).message).not.toContain('\n')
      }
    }
  })
})
