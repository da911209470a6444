import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'
import { createAdaptorServer } from '@hono/node-server'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { afterAll } from 'vitest'
import { cacheResponse as expressCache } from '../src/express.js'
import { cacheResponseHooks } from '../src/fastify.js'
import { cacheResponse as fetchCache } from '../src/fetch.js'
import type { CacheResponseCommonOptions } from '../src/http/response-cache.js'
import type { Cache } from '../src/index.js'

/** What the contract's option callbacks see of a request, whatever the framework. */
export interface RequestView {
  path: string
  header(name: string): string | undefined
}

/** A JSON body above any compression threshold, sent gzip-encoded by /gz. */
export const LARGE = JSON.stringify({ text: 'astro '.repeat(2000) })

/**
 * The routes every framework serves, each behind the response cache with the options
 * `optionsFor(route)` gives: /content/:id (JSON { id, n }), /me and /shared (JSON { user }:
 * the Authorization header), /cookie (sets a cookie), /nostore (Cache-Control: no-store),
 * /gz (LARGE, gzip-encoded by the app behind the cache), /scoped (sets Date, Retry-After
 * and X-RateLimit-Remaining, which belong to one request). `calls` counts handler runs.
 */
export type Route = 'content' | 'me' | 'shared' | 'cookie' | 'nostore' | 'gz' | 'scoped'

export interface CacheServerFactory {
  name: string
  serve(
    optionsFor: (route: Route) => CacheResponseCommonOptions<RequestView>,
  ): Promise<{ base: string; calls: Map<Route, number> }>
}

const closers: Array<() => Promise<void>> = []
afterAll(async () => {
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

function mapped<Req>(options: CacheResponseCommonOptions<RequestView>, view: (req: Req) => RequestView) {
  const { key, user, isAuthenticated, tags, ...rest } = options
  return {
    ...rest,
    ...(key && { key: (req: Req) => key(view(req)) }),
    ...(user && { user: (req: Req) => user(view(req)) }),
    ...(isAuthenticated && { isAuthenticated: (req: Req) => isAuthenticated(view(req)) }),
    ...(tags && { tags: (req: Req) => tags(view(req)) }),
  }
}

const nodeView = (path: string, headers: Record<string, string | string[] | undefined>): RequestView => ({
  path,
  header: (name) => {
    const value = headers[name.toLowerCase()]
    return Array.isArray(value) ? value.join(', ') : value
  },
})
const fetchView = (request: Request): RequestView => ({
  path: new URL(request.url).pathname,
  header: (name) => request.headers.get(name) ?? undefined,
})

/** What each route answers, framework-neutral: status 200, headers, body. */
function answer(route: Route, id: string, n: number, authorization: string | undefined) {
  const json = { 'content-type': 'application/json; charset=utf-8' }
  switch (route) {
    case 'content':
      return { headers: json, body: JSON.stringify({ id, n }) }
    case 'me':
    case 'shared':
      return { headers: json, body: JSON.stringify({ user: authorization ?? null }) }
    case 'cookie':
      return { headers: { ...json, 'set-cookie': 'session=abc' }, body: '{"ok":true}' }
    case 'nostore':
      return { headers: { ...json, 'cache-control': 'no-store' }, body: '{"ok":true}' }
    case 'gz':
      return {
        headers: { ...json, 'content-encoding': 'gzip', vary: 'Accept-Encoding' },
        body: gzipSync(LARGE),
      }
    case 'scoped':
      return {
        headers: {
          ...json,
          date: `Thu, 01 Jan 2026 00:00:0${n % 10} GMT`,
          'retry-after': String(n),
          'x-ratelimit-remaining': String(100 - n),
        },
        body: JSON.stringify({ n }),
      }
  }
}

const ROUTES: Array<[Route, string]> = [
  ['content', '/content/:id'],
  ['me', '/me'],
  ['shared', '/shared'],
  ['cookie', '/cookie'],
  ['nostore', '/nostore'],
  ['gz', '/gz'],
  ['scoped', '/scoped'],
]

function counter() {
  const calls = new Map<Route, number>()
  return { calls, count: (route: Route) => calls.set(route, (calls.get(route) ?? 0) + 1).get(route)! }
}

const expressServer: CacheServerFactory = {
  name: 'express',
  async serve(optionsFor) {
    const { calls, count } = counter()
    const app = express()
    for (const [route, path] of ROUTES)
      app.get(
        path,
        expressCache(mapped<express.Request>(optionsFor(route), (req) => nodeView(req.path, req.headers))),
        (req, res) => {
          const out = answer(route, String(req.params.id), count(route), req.headers.authorization)
          for (const [name, value] of Object.entries(out.headers)) res.setHeader(name, value)
          res.end(out.body)
        },
      )
    return { base: await listen(createServer(app)), calls }
  },
}

const fastifyServer: CacheServerFactory = {
  name: 'fastify',
  async serve(optionsFor) {
    const { calls, count } = counter()
    const app = Fastify()
    for (const [route, path] of ROUTES) {
      const hooks = cacheResponseHooks(
        mapped(
          optionsFor(route),
          (req: { url: string; headers: Record<string, string | string[] | undefined> }) =>
            nodeView(req.url.split('?')[0]!, req.headers),
        ),
      )
      app.get<{ Params: { id?: string } }>(path, hooks, async (request, reply) => {
        const out = answer(route, String(request.params.id), count(route), request.headers.authorization)
        return reply.headers(out.headers).send(out.body)
      })
    }
    await app.listen({ port: 0, host: '127.0.0.1' })
    closers.push(() => app.close())
    return { base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, calls }
  },
}

const toResponse = (out: ReturnType<typeof answer>) =>
  new Response(typeof out.body === 'string' ? out.body : new Uint8Array(out.body), { headers: out.headers })

const honoServer: CacheServerFactory = {
  name: 'hono',
  async serve(optionsFor) {
    const { calls, count } = counter()
    const app = new Hono()
    for (const [route, path] of ROUTES)
      app.get(path, fetchCache(mapped<Request>(optionsFor(route), fetchView)), (c) =>
        toResponse(answer(route, String(c.req.param('id')), count(route), c.req.header('authorization'))),
      )
    return { base: await listen(createAdaptorServer({ fetch: app.fetch }) as Server), calls }
  },
}

const plainFetchServer: CacheServerFactory = {
  name: 'fetch (plain Request -> Response over node:http)',
  async serve(optionsFor) {
    const { calls, count } = counter()
    const handlers = new Map(
      ROUTES.map(([route]) => [route, fetchCache(mapped<Request>(optionsFor(route), fetchView))] as const),
    )
    const fetchHandler = (request: Request) => {
      const [, first = '', id = ''] = new URL(request.url).pathname.split('/')
      const route = first as Route
      const cache = handlers.get(route)
      if (cache === undefined) return new Response(null, { status: 404 })
      return cache(request, async () =>
        toResponse(answer(route, id, count(route), request.headers.get('authorization') ?? undefined)),
      )
    }
    return { base: await listen(createAdaptorServer({ fetch: fetchHandler }) as Server), calls }
  },
}

export const serverFactories: CacheServerFactory[] = [
  expressServer,
  fastifyServer,
  honoServer,
  plainFetchServer,
]
export type { Cache }
