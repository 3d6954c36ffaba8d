/**
 * Run one scenario process: fork it, wait for the one result it sends over IPC, keep its output
 * out of the results table (but show the end of stderr if it fails).
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const SCENARIOS = fileURLToPath(new URL('../scenarios/', import.meta.url))

export function runScenario(script, options, { execArgv = [], env = {}, timeoutMs = 300_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = fork(`${SCENARIOS}${script}`, [JSON.stringify(options)], {
      execArgv,
      env: { ...process.env, TZ: 'UTC', ...env },
      silent: true,
    })
    let stderr = ''
    let result
    child.stdout.resume()
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-4000)
    })
    child.on('message', (m) => {
      result = m
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (result !== undefined && code === 0) resolve(result)
      else {
        const why = signal ? `killed by ${signal}` : `exit code ${code}`
        reject(
          new Error(
            `${script} ${JSON.stringify(options).slice(0, 200)} failed (${why}): ${stderr.trim().slice(-1500)}`,
          ),
        )
      }
    })
  })
}

/**
 * The child side of `runScenario`: run `main`, send its result to the parent (or print it when
 * run directly, through `preview` if given), and exit with a status the parent can read.
 */
export function runAsChild(main, preview = (result) => result) {
  main().then(
    (result) => {
      if (process.send) process.send(result)
      else console.log(JSON.stringify(preview(result), null, 2))
      process.exit(0)
    },
    (error) => {
      console.error(error?.stack ?? error)
      process.exit(1)
    },
  )
}
