import diagnosticsChannel from 'node:diagnostics_channel'
import { afterEach, describe, expect, it } from 'vitest'
import { createTracingChannel } from '../src/index.js'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

/** Subscribes to every event of `name`, recording `event:context` in order. */
function record(name: string) {
  const seen: string[] = []
  const channel = diagnosticsChannel.tracingChannel<
    unknown,
    { id: string; error?: unknown; result?: unknown }
  >(name)
  const handlers = {
    start: (m: { id: string }) => seen.push(`start:${m.id}`),
    end: (m: { id: string }) => seen.push(`end:${m.id}`),
    asyncStart: (m: { id: string }) => seen.push(`asyncStart:${m.id}`),
    asyncEnd: (m: { id: string; result?: unknown }) => seen.push(`asyncEnd:${m.id}:${String(m.result)}`),
    error: (m: { id: string; error?: unknown }) => seen.push(`error:${m.id}:${(m.error as Error).message}`),
  }
  channel.subscribe(handlers)
  cleanups.push(() => channel.unsubscribe(handlers))
  return seen
}

describe('createTracingChannel', () => {
  it('runs the function as it is while nobody subscribes', async () => {
    const traced = createTracingChannel<{ id: string }>('core-test', 'idle')
    expect(traced.name).toBe('headroom:core-test:idle')
    expect(traced.hasSubscribers).toBe(false)
    const promise = Promise.resolve(1)
    expect(traced.tracePromise(() => promise, { id: 'a' })).toBe(promise)
  })

  it('publishes start, end and asyncEnd with the result on `tracing:headroom:<pkg>:<operation>:*`', async () => {
    const traced = createTracingChannel<{ id: string; note?: string }>('core-test', 'ok')
    const seen = record('headroom:core-test:ok')
    expect(traced.hasSubscribers).toBe(true)
    const context: { id: string; note?: string } = { id: 'a' }
    const result = await traced.tracePromise(async () => {
      // What the operation learns while running reaches the subscribers through the context.
      context.note = 'written'
      return 42
    }, context)
    expect(result).toBe(42)
    expect(seen).toEqual(['start:a', 'end:a', 'asyncStart:a', 'asyncEnd:a:42'])
    expect(context).toMatchObject({ note: 'written', result: 42 })
  })

  it('turns a synchronous throw into a rejection that still ends on asyncEnd', async () => {
    const traced = createTracingChannel<{ id: string }>('core-test', 'throws')
    const seen = record('headroom:core-test:throws')
    const outcome = traced.tracePromise(
      (): Promise<never> => {
        throw new Error('sync')
      },
      { id: 'b' },
    )
    await expect(outcome).rejects.toThrow('sync')
    await expect(traced.tracePromise(() => Promise.reject(new Error('async')), { id: 'c' })).rejects.toThrow(
      'async',
    )
    expect(seen.filter((event) => event.startsWith('error') || event.startsWith('asyncEnd'))).toEqual([
      'error:b:sync',
      'asyncEnd:b:undefined',
      'error:c:async',
      'asyncEnd:c:undefined',
    ])
  })
})
