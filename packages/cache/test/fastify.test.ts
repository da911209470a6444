import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { createManualClock } from '@headroom/core'
import Fastify from 'fastify'
import { afterAll, describe, expect, it } from 'vitest'
import { cacheResponse } from '../src/fastify.js'
import { createCache } from '../src/index.js'

// The contract every adapter passes runs in http-contract.test.ts; these are Fastify's conventions.
describe('cacheResponse (Fastify conventions)', () => {
  const cache = createCache({ prefix: 'http-fastify', clock: createManualClock(0) })
  const app = Fastify()
  afterAll(async () => {
    await app.close()
    await cache.close()
  })

  it('registered inside a register scope, covers that scope only; a streamed payload is sent, not stored', async () => {
    const calls = { scoped: 0, open: 0, stream: 0 }
    await app.register(async (scope) => {
      await scope.register(cacheResponse, { cache })
      scope.get('/scoped', async () => ({ n: ++calls.scoped }))
      scope.get('/stream', async (_request, reply) => {
        calls.stream++
        return reply.type('text/plain').send(Readable.from(['hello ', 'world']))
      })
    })
    app.get('/open', async () => ({ n: ++calls.open }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const settle = () => new Promise((resolve) => setTimeout(resolve, 10))
    for (let i = 0; i < 2; i++) {
      const scoped = await fetch(`${base}/scoped`)
      expect(scoped.headers.get('x-cache')).toBe(i === 0 ? 'MISS' : 'HIT')
      expect(await scoped.json()).toEqual({ n: 1 })
      const open = await fetch(`${base}/open`)
      expect(open.headers.get('x-cache')).toBeNull()
      expect(await open.json()).toEqual({ n: i + 1 })
      expect(await (await fetch(`${base}/stream`)).text()).toBe('hello world')
      await settle()
    }
    expect(calls).toEqual({ scoped: 1, open: 2, stream: 2 })
  })
})
