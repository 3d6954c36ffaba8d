/**
 * Schemas for Postgres tests: every test file (and every fresh store in it) gets schemas of its
 * own, so files run in parallel against one server without seeing each other's rows.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, inject } from 'vitest'

/** The server's URL, without a schema. */
export function serverUrl(): string {
  return inject('postgresUrl')
}

const prefix = `t${randomBytes(4).toString('hex')}`
let count = 0
let registered = false

/** A new, empty schema's name (created by the store on first open), dropped when the file's tests end. */
export function freshSchema(): string {
  if (!registered) {
    registered = true
    afterAll(dropSchemas)
  }
  return `${prefix}_${++count}`
}

/** The state URL of a schema. */
export function stateUrl(schema: string): string {
  const url = new URL(serverUrl())
  url.searchParams.set('schema', schema)
  return url.toString()
}

/** Run SQL on the test server directly (what a peer, an operator or a fault would do). */
export async function withClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl() })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

async function dropSchemas(): Promise<void> {
  await withClient(async (client) => {
    const { rows } = await client.query<{ name: string }>(
      'SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE $1',
      [`${prefix}\\_%`],
    )
    for (const { name } of rows) await client.query(`DROP SCHEMA "${name}" CASCADE`)
  })
}
