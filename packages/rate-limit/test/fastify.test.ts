import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { rateLimit, rateLimitHook } from '../src/fastify.js'
import { createRateLimiter, type RateLimiter } from '../src/index.js'

const apps: FastifyInstance[] = []
const limiters: RateLimiter[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()))
  await Promise.all(limiters.splice(0).map((l) => l.close()))
})

async function start(app: FastifyInstance): Promise<string> {
  apps.push(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

// The contract every adapter passes runs in http-contract.test.ts; these are Fastify's conventions.
describe('rateLimit (Fastify conventions)', () => {
  it('registered inside a register scope, limits that scope only (encapsulation), and decorates request.rateLimit', async () => {
    const limiter = createRateLimiter({ limit: 1, window: '1m' })
    limiters.push(limiter)
    const app = Fastify()
    await app.register(
      async (scope) => {
        await scope.register(rateLimit, { limiter, key: () => 'k' })
        scope.get('/', async (request) => ({ remaining: request.rateLimit?.decision.remaining }))
      },
      { prefix: '/api' },
    )
    app.get('/open', async (request) => ({ rateLimit: request.rateLimit ?? null }))
    const base = await start(app)
    expect(await (await fetch(`${base}/api/`)).json()).toEqual({ remaining: 0 })
    expect((await fetch(`${base}/api/`)).status).toBe(429)
    for (let i = 0; i < 3; i++) {
      const open = await fetch(`${base}/open`)
      expect(open.status).toBe(200)
      expect(open.headers.get('ratelimit')).toBeNull()
    }
  })

  it('rateLimitHook as a preHandler keys by the parsed body and counts failed logins only', async () => {
    const limiter = createRateLimiter({ algorithm: 'sliding-log', limit: 2, window: '15m' })
    limiters.push(limiter)
    const app = Fastify()
    app.post<{ Body: { email: string; password: string } }>(
      '/login',
      {
        preHandler: rateLimitHook({
          limiter,
          key: (request) => (request.body as { email: string }).email,
          skipSuccessfulRequests: true,
        }),
      },
      async (request, reply) => reply.code(request.body.password === 'right' ? 200 : 401).send(),
    )
    const base = await start(app)
    const login = (email: string, password: string) =>
      fetch(`${base}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      }).then((res) => res.status)
    expect([await login('a', 'right'), await login('a', 'right'), await login('a', 'right')]).toEqual([
      200, 200, 200,
    ])
    expect([await login('a', 'wrong'), await login('a', 'wrong'), await login('a', 'right')]).toEqual([
      401, 401, 429,
    ])
    expect(await login('b', 'wrong')).toBe(401)
  })

  it('handler replaces the refusal', async () => {
    const limiter = createRateLimiter({ limit: 1, window: '1m' })
    limiters.push(limiter)
    const app = Fastify()
    await app.register(rateLimit, {
      limiter,
      key: () => 'k',
      handler: (_request, reply, decision) => reply.code(418).send({ allowed: decision.allowed }),
    })
    app.get('/', async () => 'ok')
    const base = await start(app)
    await fetch(base)
    const refused = await fetch(base)
    expect(refused.status).toBe(418)
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(await refused.json()).toEqual({ allowed: false })
  })
})
