/**
 * Opening a Postgres state: the schema created once however many open it at once, versions checked,
 * the clock offset measured, and every bad input (wrong password, missing database, no permission,
 * nothing listening) refused in one line naming the server, never the password, creating nothing.
 */
import { describe, expect, it } from 'vitest'
import { CronsError } from '../../src/errors.js'
import { openExistingStore, openStore, parseStateLocation } from '../../src/store/index.js'
import { PG_SCHEMA_VERSION } from '../../src/store/postgres/index.js'
import { freshSchema, serverUrl, stateUrl, withClient } from '../postgres/schemas.js'

/** The rejection of `promise`, which must be a one-line CronsError. */
async function refusal(promise: Promise<unknown>): Promise<CronsError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  )
  expect(error).toBeInstanceOf(CronsError)
  expect((error as CronsError).message).not.toContain('\n')
  return error as CronsError
}

async function schemaExists(schema: string): Promise<boolean> {
  return withClient(async (client) => {
    const { rows } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])
    return rows.length > 0
  })
}

function withUrl(change: (url: URL) => void, schema = freshSchema()): string {
  const url = new URL(stateUrl(schema))
  change(url)
  return url.toString()
}

describe('postgres: opening a state', () => {
  it('20 stores opened at once on an empty schema create it once', async () => {
    const schema = freshSchema()
    const stores = await Promise.all(Array.from({ length: 20 }, () => openStore(stateUrl(schema))))
    const applied = await withClient((client) =>
      client.query<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`),
    )
    expect(applied.rows.map((row) => row.version)).toEqual(Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1))
    for (const store of stores) expect((await store.info()).schemaVersion).toBe(PG_SCHEMA_VERSION)
    await Promise.all(stores.map((store) => store.close()))
  })

  it('refuses a schema a newer crons migrated, in one line', async () => {
    const schema = freshSchema()
    await (await openStore(stateUrl(schema))).close()
    await withClient((client) =>
      client.query(`INSERT INTO "${schema}".schema_migrations (version, description) VALUES (99, 'from the future')`),
    )
    const error = await refusal(openStore(stateUrl(schema)))
    expect(error.code).toBe('STATE_VERSION')
    expect(error.message).toContain(`schema "${schema}" is at version 99, newer than this crons understands`)
    expect((await refusal(openStore(stateUrl(schema), { readonly: true }))).code).toBe('STATE_VERSION')
  })

  it('inspecting a schema never created finds nothing and creates nothing', async () => {
    const schema = freshSchema()
    const location = parseStateLocation(stateUrl(schema), '/')
    expect(await openExistingStore(location)).toBeUndefined()
    expect(await schemaExists(schema)).toBe(false)
  })

  it('measures the host clock against the server', async () => {
    const store = await openStore(stateUrl(freshSchema()))
    // The server runs on this machine: the same clock, give or take the round trip.
    expect(Math.abs(await store.clockOffset())).toBeLessThan(250)
    // A host five minutes slow is told to add five minutes.
    const offset = await store.clockOffset(() => Date.now() - 300_000)
    expect(Math.abs(offset - 300_000)).toBeLessThan(250)
    await store.close()
  })

  it('a wrong password: one line naming the server and user, without the password', async () => {
    const url = withUrl((u) => {
      u.password = 'not-the-password'
    })
    const error = await refusal(openStore(url))
    const { hostname, port, pathname, username } = new URL(serverUrl())
    expect(error.message).toBe(
      `postgres ${hostname}:${port} database "${pathname.slice(1)}": authentication failed for user "${username}"`,
    )
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain('not-the-password')
  })

  it('a missing database, and a port nothing listens on: one line each, naming them', async () => {
    const missing = await refusal(
      openStore(
        withUrl((u) => {
          u.pathname = '/no_such_db'
        }),
      ),
    )
    expect(missing.message).toMatch(/database "no_such_db": the database does not exist$/)
    const refused = await refusal(openStore('postgres://u:s3cret@127.0.0.1:1/db'))
    expect(refused.message).toMatch(/^postgres 127\.0\.0\.1:1 database "db": cannot connect \(/)
    expect(refused.message).not.toContain('s3cret')
  })

  it('no permission to create the schema: one line, and nothing half-created', async () => {
    const schema = freshSchema()
    await withClient(async (client) => {
      await client.query('DROP ROLE IF EXISTS crons_reader')
      await client.query("CREATE ROLE crons_reader LOGIN PASSWORD 'reader-pass'")
      await client.query(`REVOKE CREATE ON DATABASE "${new URL(serverUrl()).pathname.slice(1)}" FROM PUBLIC`)
    })
    const url = withUrl((u) => {
      u.username = 'crons_reader'
      u.password = 'reader-pass'
    }, schema)
    const error = await refusal(openStore(url))
    expect(error.message).toContain(`user "crons_reader" has no permission to create schema "${schema}"`)
    expect(error.message).not.toContain('reader-pass')
    expect(error.suggestions.join(' ')).toContain('crons state migrate')
    expect(await schemaExists(schema)).toBe(false)
  })
})
