/**
 * One scheduler process of the soak: the library embedded with `createScheduler`, serving the soak's
 * jobs from the shared schema. `offsetMs` shifts this process's clock (the injected `clock` option),
 * as a host whose clock is off would be. Tells the soak its instance id when ready and whenever it
 * changes (a lease lost after a stall); stops gracefully on SIGTERM.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { jobDefinitions } from './jobs.mjs'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const { url, name, offsetMs, heartbeatMs, instanceTtlMs } = JSON.parse(process.argv[2])
const { createScheduler, systemClock } = await import(path.join(REPO, 'dist/index.js'))

const clock =
  offsetMs === 0
    ? undefined
    : {
        now: () => Date.now() + offsetMs,
        setTimeout: systemClock.setTimeout,
        clearTimeout: systemClock.clearTimeout,
      }
const scheduler = createScheduler(
  { state: url, timezone: 'UTC', jobs: jobDefinitions() },
  { ...(clock ? { clock } : {}), heartbeatMs, instanceTtlMs, echoConsole: false },
)
// Asked by the soak: freeze this process in the middle of its next claim transaction (after its first
// statement, which holds the slot keys it inserted), as a VM paused at the wrong moment would be.
let freezeInClaim = false
process.on('message', (message) => {
  if (message?.type === 'freeze-in-claim') freezeInClaim = true
})
const { default: pg } = await import('pg')
const query = pg.Client.prototype.query
pg.Client.prototype.query = function watched(...args) {
  const result = query.apply(this, args)
  const text = typeof args[0] === 'string' ? args[0] : ''
  if (!freezeInClaim || !text.includes('.slot_claims') || !text.trimStart().startsWith('INSERT')) return result
  freezeInClaim = false
  return result.then((value) => {
    process.kill(process.pid, 'SIGSTOP')
    return value
  })
}
const say = (line) => process.stderr.write(`${new Date().toISOString()} ${name} ${line}\n`)
const tell = (message) => process.connected && process.send(message)
let instanceId
scheduler.events.on('engine:error', ({ message, error }) => {
  say(`engine:error ${message}${error ? `: ${String(error?.message ?? error).split('\n')[0]}` : ''}`)
  tell({ type: 'engine-error' })
  if (scheduler.instanceId !== instanceId) {
    instanceId = scheduler.instanceId
    tell({ type: 'instance', instanceId })
  }
})
scheduler.events.on('scheduler:failed', ({ message }) => {
  say(`scheduler:failed ${message}`)
  tell({ type: 'failed', message })
})
scheduler.events.on('runs:interrupted', ({ runIds }) => say(`interrupted runs of a dead peer: ${runIds.join(', ')}`))

let stopping = false
process.on('SIGTERM', () => {
  if (stopping) return
  stopping = true
  scheduler
    .stop({ graceMs: 10_000 })
    .then(() => process.exit(0))
    .catch((error) => {
      say(`stop failed: ${error?.message ?? error}`)
      process.exit(1)
    })
})

await scheduler.start()
instanceId = scheduler.instanceId
say(`started as ${instanceId}${offsetMs ? ` (clock offset ${offsetMs} ms)` : ''}`)
tell({ type: 'instance', instanceId })
