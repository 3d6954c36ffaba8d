/**
 * crons inside an application: the same engine as `crons start-scheduler`, driven from code.
 * Run it with `node --import tsx examples/embedded.ts` after `npm run build`.
 */
import { createScheduler } from 'cronsjs'

const scheduler = createScheduler({
  state: ':memory:', // or a file such as './crons.db' to keep history across restarts
  timezone: 'UTC',
  jobs: [
    {
      name: 'refresh-cache',
      every: '1m',
      timeout: '10s',
      retry: { max: 2, backoff: 'constant', initial: '100ms' },
      run: async (ctx) => {
        ctx.log.info(`refreshing (attempt ${ctx.attempt}, trigger ${ctx.trigger})`)
        if (ctx.attempt === 1) throw new Error('cache backend not ready')
        return { refreshed: true }
      },
    },
  ],
})

scheduler.events.on('run:finished', (e) => {
  console.log(`${e.job} attempt ${e.attempt}: ${e.status}${e.error ? ` (${e.error.message})` : ''}`)
})

await scheduler.start()
// Run a job now, through the same pipeline as a scheduled run (timeout, retry, hooks, history).
const result = await scheduler.runJob('refresh-cache')
console.log(`result: ${result.status} after ${result.attempts} attempts`)
await scheduler.stop() // drains running jobs like SIGTERM
