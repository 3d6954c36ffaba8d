/**
 * reportStrayErrors (SEMANTICS §5: nothing a job does can crash the scheduler): the process-wide
 * events it listens to are driven here through a stand-in emitter, so no real uncaught error reaches
 * the test runner. test/e2e/scheduler.test.ts raises real ones through the CLI.
 */
import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { EngineEmitter } from '../../src/core/events.js'
import { reportStrayErrors, STRAY_ERROR_MESSAGE } from '../../src/core/stray.js'

function setup() {
  const events = new EngineEmitter()
  const source = new EventEmitter()
  const reported: { message: string; error: unknown }[] = []
  events.on('engine:error', (e) => reported.push(e))
  return { events, source, reported }
}

describe('reportStrayErrors', () => {
  it('reports an uncaught exception and an unhandled rejection as engine errors', () => {
    const { events, source, reported } = setup()
    reportStrayErrors(events, source)
    const thrown = new Error('listener boom')
    const rejected = new Error('fire-and-forget failed')
    source.emit('uncaughtException', thrown)
    source.emit('unhandledRejection', rejected, Promise.resolve())
    expect(reported).toEqual([
      { message: STRAY_ERROR_MESSAGE, error: thrown },
      { message: STRAY_ERROR_MESSAGE, error: rejected },
    ])
  })

  it('listens to both events while installed, and to neither once removed', () => {
    const { events, source, reported } = setup()
    const remove = reportStrayErrors(events, source)
    expect(source.listenerCount('uncaughtException')).toBe(1)
    expect(source.listenerCount('unhandledRejection')).toBe(1)
    remove()
    expect(source.listenerCount('uncaughtException')).toBe(0)
    expect(source.listenerCount('unhandledRejection')).toBe(0)
    source.emit('unhandledRejection', new Error('after'), Promise.resolve())
    expect(reported).toEqual([])
  })

  it('installs on the process by default', () => {
    const { events } = setup()
    const before = process.listenerCount('unhandledRejection')
    const remove = reportStrayErrors(events)
    expect(process.listenerCount('unhandledRejection')).toBe(before + 1)
    remove()
    expect(process.listenerCount('unhandledRejection')).toBe(before)
  })
})
