import { defineConfig } from 'crons'

/**
 * The bundled example: `npm start` runs this with the state in examples/crons.db.
 * Times are read in each job's `tz`, else in `timezone` below.
 */
export default defineConfig({
  state: './crons.db',
  timezone: 'UTC',
  jobs: [
    {
      name: 'heartbeat',
      description: 'Proves the scheduler is alive every 10 seconds',
      schedule: '*/10 * * * * *',
      tags: ['demo'],
      run: (ctx) => {
        ctx.log.info(`tick for ${ctx.scheduledAt.toISOString()}`)
      },
    },
    {
      name: 'flaky-sync',
      description: 'Fails now and then to show retries with exponential backoff',
      every: '30s',
      timeout: '10s',
      retry: { max: 2, backoff: 'exponential', initial: '1s', maxDelay: '10s' },
      tags: ['demo', 'sync'],
      run: async (ctx) => {
        await new Promise((resolve) => setTimeout(resolve, 200))
        if (ctx.attempt === 1 && Math.random() < 0.5) throw new Error('upstream answered 503')
        return { synced: 42 }
      },
    },
    {
      name: 'backup',
      description: 'Nightly backup at 03:00 Buenos Aires time, caught up once after downtime',
      schedule: '0 3 * * *',
      tz: 'America/Argentina/Buenos_Aires',
      timeout: 600,
      retry: { max: 3, backoff: 'exponential', initial: 1, maxDelay: 30 },
      catchUp: true,
      tags: ['db'],
      run: async (ctx) => {
        ctx.log.info(`backing up (attempt ${ctx.attempt})`)
        if (ctx.missed) ctx.log.warn(`catching up ${ctx.missed.count} missed run(s)`)
      },
    },
    {
      name: 'weekly-report',
      schedule: '0 9 * * MON',
      tz: 'Europe/Berlin',
      tags: ['reports'],
      run: (ctx) => ctx.log.info('report sent'),
    },
    {
      name: 'disk-usage',
      description: 'A shell command: its output is kept with each run, a non-zero exit fails it',
      every: '1m',
      command: 'df -h . | tail -n 1',
      timeout: '30s',
      tags: ['demo'],
    },
    {
      name: 'old-import',
      description: 'Kept in the file but switched off: listed as disabled, never scheduled',
      schedule: '0 4 * * *',
      enabled: false,
      command: ['node', 'scripts/import.js'],
      env: { IMPORT_SOURCE: 'legacy' },
    },
  ],
})
