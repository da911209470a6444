import { once } from 'node:events'
import { connect, createServer, type Socket } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { isTimeoutError } from '../src/errors.js'
import { createManualClock } from '../src/time/manual-clock.js'
import { createCommandTimeout, withTimeout } from '../src/time/timeout.js'

function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

describe('withTimeout', () => {
  it('settles with the promise when it is in time', async () => {
    const clock = createManualClock()
    const op = deferred<string>()
    const result = withTimeout(op.promise, 50, { clock })
    op.resolve('ok')
    await expect(result).resolves.toBe('ok')
    expect(clock.pending()).toBe(0)
  })

  it('rejects with E_TIMEOUT after the deadline and absorbs the late rejection', async () => {
    const clock = createManualClock()
    const op = deferred<string>()
    const result = withTimeout(op.promise, 50, { clock })
    clock.advance(50)
    const error = await result.catch((e: unknown) => e)
    expect(isTimeoutError(error)).toBe(true)
    // The late failure of the operation must not surface as an unhandled rejection.
    op.reject(new Error('late'))
    await new Promise((resolve) => setImmediate(resolve))
  })
})

describe('createCommandTimeout', () => {
  it('times out many concurrent commands with one timer, each at its own deadline', async () => {
    const clock = createManualClock()
    const timeout = createCommandTimeout(50, clock)
    const ops = Array.from({ length: 100 }, () => deferred<number>())
    const settledAt: (number | undefined)[] = []
    const results = ops.map((op, i) => {
      if (i > 0 && i % 10 === 0) clock.advance(1) // issued at t = 0..9
      return timeout.run(op.promise).then(
        (value) => value,
        (error: unknown) => {
          settledAt[i] = clock.now()
          return error
        },
      )
    })
    expect(clock.pending()).toBe(1)
    ops[0]!.resolve(7)
    ops[99]!.resolve(99)
    await clock.advanceAsync(100)
    const settled = await Promise.all(results)
    expect(settled[0]).toBe(7)
    expect(settled[99]).toBe(99)
    for (let i = 1; i < 99; i++) {
      expect(isTimeoutError(settled[i])).toBe(true)
      expect(settledAt[i]).toBe(Math.floor(i / 10) + 50)
    }
    expect(clock.pending()).toBe(0)
  })

  it('rejects exactly at the deadline, not before', async () => {
    const clock = createManualClock()
    const timeout = createCommandTimeout(50, clock)
    let settled = false
    const result = timeout.run(new Promise(() => {})).catch((e: unknown) => {
      settled = true
      return e
    })
    await clock.advanceAsync(49)
    expect(settled).toBe(false)
    await clock.advanceAsync(1)
    expect(isTimeoutError(await result)).toBe(true)
  })

  it('passes rejections through and keeps ordering when the head settles early', async () => {
    const clock = createManualClock()
    const timeout = createCommandTimeout(50, clock)
    const first = deferred<number>()
    const failing = timeout.run(first.promise)
    clock.advance(20)
    const second = timeout.run(new Promise<number>(() => {})).catch((e: unknown) => e)
    first.reject(new Error('WRONGTYPE'))
    await expect(failing).rejects.toThrow('WRONGTYPE')
    clock.advance(49)
    let done = false
    void second.then(() => {
      done = true
    })
    await Promise.resolve()
    expect(done).toBe(false)
    clock.advance(1)
    expect(isTimeoutError(await second)).toBe(true)
  })

  it('close() clears the timer', () => {
    const clock = createManualClock()
    const timeout = createCommandTimeout(50, clock)
    void timeout.run(new Promise(() => {})).catch(() => {})
    expect(clock.pending()).toBe(1)
    timeout.close()
    expect(clock.pending()).toBe(0)
  })

  it('a reply that arrived while the event loop was blocked past the deadline is not a timeout', async () => {
    // A real socket pair: the peer's reply is in the kernel's buffer at once, but this
    // process is busy for 100 ms, so the 20 ms timer fires before the reply is read.
    const server = createServer()
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as { port: number }
    const accepted = once(server, 'connection') as Promise<[Socket]>
    const client = connect(port, '127.0.0.1')
    await once(client, 'connect')
    const [peer] = await accepted
    try {
      const timeout = createCommandTimeout(20)
      const replied = new Promise<string>((resolve) => client.once('data', (data) => resolve(String(data))))
      const outcome = timeout.run(replied)
      peer.write('pong')
      const busyUntil = Date.now() + 100
      while (Date.now() < busyUntil) {
        // Blocks the loop, as a burst of requests does.
      }
      await expect(outcome).resolves.toBe('pong')
      // A reply that really is late still times out.
      await expect(timeout.run(new Promise<string>(() => {}))).rejects.toSatisfy(isTimeoutError)
      timeout.close()
    } finally {
      client.destroy()
      peer.destroy()
      server.close()
    }
  })

  it('does not keep the reply of an answered command alive until its deadline', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const timeout = createCommandTimeout(60_000)
    let reply: WeakRef<object> | undefined
    await (async () => {
      const value = { payload: 'x'.repeat(1_000_000) }
      reply = new WeakRef(value)
      await timeout.run(Promise.resolve(value))
    })()
    // Let the settled promises go out of scope, then collect.
    await new Promise((resolve) => setImmediate(resolve))
    gc()
    expect(reply!.deref()).toBeUndefined()
    timeout.close()
  })
})
