/**
 * Profile one stretch of a scenario (not its start-up) with the inspector's CPU profiler, and save
 * a .cpuprofile that bench/lib/profile-summary.mjs (or Chrome DevTools) can read. Enabled by the
 * `profile` option of a scenario: the path to write.
 */
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'

export async function startProfile(path) {
  if (!path) return async () => {}
  const session = new Session()
  session.connect()
  const post = (method, params) =>
    new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))))
  await post('Profiler.enable')
  await post('Profiler.setSamplingInterval', { interval: 200 })
  await post('Profiler.start')
  return async () => {
    const { profile } = await post('Profiler.stop')
    writeFileSync(path, JSON.stringify(profile))
    session.disconnect()
  }
}
