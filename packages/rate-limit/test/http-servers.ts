import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import express from 'express'
import Fastify, { type FastifyInstance } from 'fastify'
import { Hono } from 'hono'
import { afterEach } from 'vitest'
import { rateLimit as expressRateLimit } from '../src/express.js'
import { rateLimit as fastifyRateLimit } from '../src/fastify.js'
import { rateLimit as fetchRateLimit } from '../src/fetch.js'
import type { RateLimitCommonOptions } from '../src/http/request-limit.js'

/** What the contract's option callbacks see of a request, whatever the framework. */
export interface RequestView {
  header(name: string): string | undefined
}

/** rateLimit() options in framework-neutral terms; each server maps them onto its adapter. */
export type NeutralOptions = Omit<
  RateLimitCommonOptions<RequestView>,
  'key' | 'skip' | 'limit' | 'cost' | 'message'
> & {
  message?: string
  key?: (req: RequestView) => string
  limit?: (req: RequestView) => number | undefined
  skip?: (req: RequestView) => boolean
}

/**
 * One framework running the limiter in front of three routes: `GET /` answers
 * `{ ok: true }`, `GET /fail` answers 500, `POST /login` answers 200 when the JSON body's
 * password is 'right' and 401 otherwise. The client address comes from X-Forwarded-For
 * (each framework's trust-proxy setting).
 */
export interface ServerFactory {
  name: string
  serve(options: NeutralOptions): Promise<string>
}

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()))
})

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  closers.push(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function mapped<Req>(options: NeutralOptions, view: (req: Req) => RequestView) {
  return {
    ...options,
    key: options.key && ((req: Req) => options.key!(view(req))),
    limit: options.limit && ((req: Req) => options.limit!(view(req))),
    skip: options.skip && ((req: Req) => options.skip!(view(req))),
  }
}

const nodeView = (headers: Record<string, string | string[] | undefined>): RequestView => ({
  header: (name) => {
    const value = headers[name.toLowerCase()]
    return Array.isArray(value) ? value.join(', ') : value
  },
})
const fetchView = (request: Request): RequestView => ({
  header: (name) => request.headers.get(name) ?? undefined,
})
const forwardedFor = (request: Request) => request.headers.get('x-forwarded-for') ?? undefined

const expressServer: ServerFactory = {
  name: 'express',
  async serve(options) {
    const app = express()
    app.set('trust proxy', true)
    app.use(express.json())
    app.use(expressRateLimit(mapped<express.Request>(options, (req) => nodeView(req.headers))))
    app.get('/', (_req, res) => {
      res.json({ ok: true })
    })
    app.get('/fail', (_req, res) => {
      res.status(500).end()
    })
    app.post('/login', (req, res) => {
      res.status(req.body.password === 'right' ? 200 : 401).end()
    })
    return listen(createServer(app))
  },
}

const fastifyServer: ServerFactory = {
  name: 'fastify',
  async serve(options) {
    const app: FastifyInstance = Fastify({ trustProxy: true })
    await app.register(
      fastifyRateLimit,
      mapped(options, (req: { headers: Record<string, string | string[] | undefined> }) =>
        nodeView(req.headers),
      ),
    )
    app.get('/', async () => ({ ok: true }))
    app.get('/fail', async (_request, reply) => reply.code(500).send())
    app.post<{ Body: { password: string } }>('/login', async (request, reply) =>
      reply.code(request.body.password === 'right' ? 200 : 401).send(),
    )
    await app.listen({ port: 0, host: '127.0.0.1' })
    closers.push(() => app.close())
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  },
}

/** The routes as one fetch handler, shared by the Hono app and the plain wrapper. */
async function route(request: Request): Promise<Response> {
  const { pathname } = new URL(request.url)
  if (pathname === '/fail') return new Response(null, { status: 500 })
  if (pathname === '/login') {
    const body = (await request.json()) as { password: string }
    return new Response(null, { status: body.password === 'right' ? 200 : 401 })
  }
  return Response.json({ ok: true })
}

const honoServer: ServerFactory = {
  name: 'hono',
  async serve(options) {
    const app = new Hono()
    app.use(fetchRateLimit({ ...mapped<Request>(options, fetchView), ip: forwardedFor }))
    app.all('*', (c) => route(c.req.raw))
    return listen(createAdaptorServer({ fetch: app.fetch }) as Server)
  },
}

const plainFetchServer: ServerFactory = {
  name: 'fetch (plain Request -> Response over node:http)',
  async serve(options) {
    const limit = fetchRateLimit({ ...mapped<Request>(options, fetchView), ip: forwardedFor })
    return listen(
      createAdaptorServer({ fetch: (request: Request) => limit(request, () => route(request)) }) as Server,
    )
  },
}

export const serverFactories: ServerFactory[] = [expressServer, fastifyServer, honoServer, plainFetchServer]
