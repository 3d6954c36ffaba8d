// A CommonJS application (what NestJS and many older apps compile to) using crons through require().
// Node loads the ES module build synchronously (require of ESM, Node 20.19+ and 22.12+).
// Run it with `npm install && node app.js` in this folder.
const { createScheduler, isCronsError } = require('cronsjs')

async function main() {
  // No jobs up front: the app adds them once its own services are ready.
  const scheduler = createScheduler({ state: ':memory:', timezone: 'UTC' })
  await scheduler.add({
    name: 'send-digest',
    schedule: '0 8 * * MON-FRI',
    run: (ctx) => ctx.log.info('digest sent'),
  })
  scheduler.events.on('run:finished', (e) => console.log(`${e.job} (${e.trigger}): ${e.status}`))

  await scheduler.start()
  const next = scheduler.nextRuns().find((f) => f.job === 'send-digest')?.nextRun
  if (next) console.log(`next send-digest at ${next.slice(11, 16)} UTC`)
  const result = await scheduler.runJob('send-digest')
  console.log(`result: ${result.status}`)
  try {
    await scheduler.runJob('send-digst')
  } catch (error) {
    if (isCronsError(error)) console.log(`refused: ${error.code}`)
  }
  await scheduler.stop()
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
