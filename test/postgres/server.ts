/**
 * Vitest global setup: a real PostgreSQL for the store and end-to-end tests. `CRONS_TEST_DATABASE_URL`
 * names a server to use; otherwise one is started from node_modules on a free loopback port, with
 * its data in a temp folder, by `embedded-server.mjs` in a process of its own, and stopped at the end.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A Postgres URL whose user may create schemas; tests add `?schema=` of their own. */
    postgresUrl: string
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = process.env.CRONS_TEST_DATABASE_URL
  if (given !== undefined && given !== '') {
    project.provide('postgresUrl', given)
    return undefined
  }
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'embedded-server.mjs')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout })
    lines.once('line', (line) => resolve((JSON.parse(line) as { url: string }).url))
    child.once('exit', (code) => reject(new Error(`the test PostgreSQL did not start (exit ${code})`)))
  })
  project.provide('postgresUrl', url)
  return async () => {
    child.stdin.end()
    await exited
  }
}
