import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { afterEach } from 'vitest'
import * as fastifyAdapter from '../src/fastify.js'
import * as fetchAdapter from '../src/fetch.js'
import type { HealthJsonInfo } from '../src/http/health-json.js'
import type { RequestTimingOptions } from '../src/http/request-timing.js'
import { healthRoutes, markDependencyFailure, requestTiming, shedLoad, trackRequests } from '../src/http.js'
import type { HealthMonitor } from '../src/monitor/types.js'
import type { Priority } from '../src/shedding/load-shedder.js'
import type { ShedLoadCommonOptions, ShedLoadStats } from '../src/shedding/shed-gate.js'

/**
 * The probes, request tracking (label `route`: the path) and the shedder in front of the
 * app: `/x` answers 'ok', `/boom` 500, `/dep` a 503 marked as a dependency failure, `/slow`
 * never answers. A request's priority is its `x-tier` header.
 */
export interface HealthSetup {
  monitor: HealthMonitor
  /** trackRequests' `timing`; `/marked` waits 30 ms and marks it as phase `db`. */
  timing?: RequestTimingOptions
  info?: HealthJsonInfo
  shed: Omit<ShedLoadCommonOptions<unknown>, 'priority'>
}

export interface HealthServerFactory {
  name: string
  serve(setup: HealthSetup): Promise<{ base: string; stats(): ShedLoadStats }>
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

const pathOf = (url: string | undefined) => new URL(url ?? '/', 'http://localhost').pathname

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let slowArrivals = 0
/** How many `/slow` requests reached an app: a test aborts one only once it is there. */
export const slowArrived = (): number => slowArrivals

const tier = (value: string | null | undefined): Priority =>
  value === 'critical' ? 'critical' : value === 'premium' ? 'high' : 'low'

const expressServer: HealthServerFactory = {
  name: 'express (@headroom/health/http)',
  async serve({ monitor, info, shed, timing }) {
    const app = express()
    const shedder = shedLoad({
      ...shed,
      priority: (req: IncomingMessage) => tier(req.headers['x-tier'] as string),
    })
    app.use(
      healthRoutes(monitor, info) as (req: IncomingMessage, res: ServerResponse, next: () => void) => void,
    )
    app.use(trackRequests({ monitor, labels: (req) => ({ route: pathOf(req.url) }), timing }))
    app.use(shedder as (req: IncomingMessage, res: ServerResponse, next: () => void) => void)
    app.get('/x', (_req, res) => {
      res.type('text').send('ok')
    })
    app.get('/boom', (_req, res) => {
      res.status(500).send('boom')
    })
    app.get('/dep', (_req, res) => {
      markDependencyFailure(res)
      res.status(503).send('shard down')
    })
    app.get('/slow', () => {
      // Never answers: the client gives up first.
      slowArrivals++
    })
    app.get('/marked', async (_req, res) => {
      await sleep(30)
      requestTiming(res)?.mark('db')
      res.type('text').send('ok')
    })
    return { base: await listen(createServer(app)), stats: shedder.stats }
  },
}

const fastifyServer: HealthServerFactory = {
  name: 'fastify',
  async serve({ monitor, info, shed, timing }) {
    const app = Fastify()
    await app.register(fastifyAdapter.healthRoutes, { monitor, ...info })
    await app.register(fastifyAdapter.trackRequests, {
      monitor,
      labels: (request) => ({ route: pathOf(request.url) }),
      timing,
    })
    await app.register(fastifyAdapter.shedLoad, {
      ...shed,
      priority: (request) => tier(request.headers['x-tier'] as string),
    })
    app.get('/x', async (_request, reply) => reply.type('text/plain').send('ok'))
    app.get('/boom', async (_request, reply) => reply.code(500).send('boom'))
    app.get('/dep', async (_request, reply) => {
      fastifyAdapter.markDependencyFailure(reply)
      return reply.code(503).send('shard down')
    })
    app.get('/slow', () => {
      slowArrivals++
      return new Promise(() => {})
    })
    app.get('/marked', async (_request, reply) => {
      await sleep(30)
      fastifyAdapter.requestTiming(reply)?.mark('db')
      return reply.type('text/plain').send('ok')
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    closers.push(() => app.close())
    return {
      base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
      stats: () => app.shedLoadStats!(),
    }
  },
}

const honoServer: HealthServerFactory = {
  name: 'hono',
  async serve({ monitor, info, shed, timing }) {
    const app = new Hono()
    const shedder = fetchAdapter.shedLoad({
      ...shed,
      priority: (request) => tier(request.headers.get('x-tier')),
    })
    app.use(fetchAdapter.healthRoutes(monitor, info))
    app.use(
      fetchAdapter.trackRequests({ monitor, labels: (request) => ({ route: pathOf(request.url) }), timing }),
    )
    app.use(shedder)
    app.get('/x', (c) => c.text('ok'))
    app.get('/boom', (c) => c.text('boom', 500))
    app.get('/dep', (c) => {
      fetchAdapter.markDependencyFailure(c.req.raw)
      return c.text('shard down', 503)
    })
    app.get('/slow', () => {
      slowArrivals++
      return new Promise<Response>(() => {})
    })
    app.get('/marked', async (c) => {
      await sleep(30)
      fetchAdapter.requestTiming(c.req.raw)?.mark('db')
      return c.text('ok')
    })
    return { base: await listen(createAdaptorServer({ fetch: app.fetch }) as Server), stats: shedder.stats }
  },
}

const plainFetchServer: HealthServerFactory = {
  name: 'fetch (plain Request -> Response over node:http)',
  async serve({ monitor, info, shed, timing }) {
    const probes = fetchAdapter.healthRoutes(monitor, info)
    const shedder = fetchAdapter.shedLoad({
      ...shed,
      priority: (request) => tier(request.headers.get('x-tier')),
    })
    const track = fetchAdapter.trackRequests({
      monitor,
      labels: (request) => ({ route: pathOf(request.url) }),
      timing,
    })
    const app = async (request: Request): Promise<Response> => {
      const path = new URL(request.url).pathname
      if (path === '/x') return new Response('ok', { headers: { 'content-type': 'text/plain' } })
      if (path === '/boom') return new Response('boom', { status: 500 })
      if (path === '/dep') {
        fetchAdapter.markDependencyFailure(request)
        return new Response('shard down', { status: 503 })
      }
      if (path === '/slow') {
        slowArrivals++
        return new Promise<Response>(() => {})
      }
      if (path === '/marked') {
        await sleep(30)
        fetchAdapter.requestTiming(request)?.mark('db')
        return new Response('ok', { headers: { 'content-type': 'text/plain' } })
      }
      return new Response(null, { status: 404 })
    }
    const handle = (request: Request) =>
      probes(request, () => track(request, () => shedder(request, () => app(request))))
    return { base: await listen(createAdaptorServer({ fetch: handle }) as Server), stats: shedder.stats }
  },
}

export const serverFactories: HealthServerFactory[] = [
  expressServer,
  fastifyServer,
  honoServer,
  plainFetchServer,
]
