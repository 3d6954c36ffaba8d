/**
 * crons inside an Express app: the scheduler starts with the server, a route runs a job now, and
 * SIGTERM/SIGINT stop both in order (the HTTP server stops taking requests, then the scheduler lets
 * running jobs finish and records them). Run it with `node --import tsx examples/express-app.ts`
 * after `npm run build`; PORT picks the port (0: any free one).
 */

import { createScheduler, isCronsError } from 'cronsjs'
import express from 'express'

const scheduler = createScheduler({
  state: process.env.CRONS_STATE ?? './crons.db',
  timezone: 'UTC',
  jobs: [
    {
      name: 'send-digest',
      schedule: '0 8 * * *',
      timeout: '5m',
      retry: { max: 2, backoff: 'exponential', initial: '10s' },
      run: async (ctx) => {
        ctx.log.info(`sending the digest for ${ctx.scheduledAt.toISOString()}`)
        return { sent: true }
      },
    },
  ],
})

const app = express()

app.get('/healthz', (_req, res) => {
  res.json({ ok: true, instance: scheduler.instanceId })
})

app.post('/jobs/:name/run', async (req, res) => {
  try {
    const result = await scheduler.runJob(req.params.name)
    res.status(result.status === 'succeeded' ? 200 : 500).json(result)
  } catch (error) {
    if (isCronsError(error) && error.code === 'JOB_UNKNOWN') res.status(404).json({ error: error.message })
    else if (isCronsError(error) && error.code === 'JOB_RUNNING') res.status(409).json({ error: error.message })
    else res.status(500).json({ error: String(error) })
  }
})

await scheduler.start()
const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : address
  console.log(`listening on http://127.0.0.1:${port}`)
})

let stopping = false
const shutdown = (signal: string) => {
  if (stopping) return
  stopping = true
  console.log(`${signal}: stopping`)
  server.close(() => {
    void scheduler.stop().then(() => {
      console.log('stopped')
      process.exit(0)
    })
  })
}
process.on('SIGTERM', () => shutdown('SIGTERM'))
process.on('SIGINT', () => shutdown('SIGINT'))
