import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { slowDown as expressSlowDown } from '../src/express.js'
import { slowDown as fastifySlowDown } from '../src/fastify.js'
import { slowDown as fetchSlowDown, slowDownInfo } from '../src/fetch.js'
import type { RateLimiter } from '../src/limiter/rate-limiter-types.js'

/** slowDown() options in framework-neutral terms: every request's key is 'client'. */
export interface NeutralSlowDownOptions {
  limiter: RateLimiter
  delayAfter: number
  delayMs?: number
  maxDelayMs?: number
}

/** One framework with slowDown in front of `GET /`, which answers what slowDown decided. */
export interface SlowDownServerFactory {
  name: string
  /** Starts the app; `close()` stops it (the limiter stays the caller's). */
  serve(options: NeutralSlowDownOptions): Promise<{ url: string; close(): Promise<void> }>
}

async function listen(server: Server) {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

const key = () => 'client'

const expressServer: SlowDownServerFactory = {
  name: 'express',
  async serve(options) {
    const app = express()
    app.use(expressSlowDown({ ...options, key }))
    app.get('/', (_req, res) => {
      res.json(res.locals.slowDown)
    })
    return listen(createServer(app))
  },
}

const fastifyServer: SlowDownServerFactory = {
  name: 'fastify',
  async serve(options) {
    const app = Fastify()
    await app.register(fastifySlowDown, { ...options, key })
    app.get('/', async (request) => request.slowDown)
    await app.listen({ port: 0, host: '127.0.0.1' })
    return {
      url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/`,
      close: () => app.close(),
    }
  },
}

const honoServer: SlowDownServerFactory = {
  name: 'hono',
  async serve(options) {
    const app = new Hono()
    app.use(fetchSlowDown({ ...options, key }))
    app.get('/', (c) => c.json(slowDownInfo(c.req.raw) ?? null))
    return listen(createAdaptorServer({ fetch: app.fetch }) as Server)
  },
}

const plainFetchServer: SlowDownServerFactory = {
  name: 'fetch (plain Request -> Response over node:http)',
  async serve(options) {
    const slow = fetchSlowDown({ ...options, key })
    return listen(
      createAdaptorServer({
        fetch: (request: Request) => slow(request, async () => Response.json(slowDownInfo(request) ?? null)),
      }) as Server,
    )
  },
}

export const slowDownServers: SlowDownServerFactory[] = [
  expressServer,
  fastifyServer,
  honoServer,
  plainFetchServer,
]
