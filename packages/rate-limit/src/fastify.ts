import type { FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { ipKey } from './http/ip-key.js'
import {
  createRequestLimit,
  functionOption,
  PROBLEM_JSON,
  type RateLimitCommonOptions,
  type RateLimitInfo,
} from './http/request-limit.js'
import type { Decision } from './limiter/decision.js'
import {
  createSlowDown,
  hold,
  SLOW_DOWN_PROBLEM_JSON,
  type SlowDownCommonOptions,
  type SlowDownInfo,
} from './slow-down/slow-down.js'

export { type HeaderStyle, writeHeaders } from './http/headers.js'
export { expandIPv6, ipKey } from './http/ip-key.js'
export type { RateLimitInfo } from './http/request-limit.js'
export type { SlowDownCommonOptions, SlowDownInfo } from './slow-down/slow-down.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The limiter's verdict on this request, set by `@headroom/rate-limit/fastify`. */
    rateLimit: RateLimitInfo | null
    /** What slowDown decided for this request, set by `@headroom/rate-limit/fastify`. */
    slowDown: SlowDownInfo | null
  }
}

/** Options of the Fastify {@link rateLimit} plugin and of {@link rateLimitHook}. */
export interface RateLimitPluginOptions extends RateLimitCommonOptions<FastifyRequest> {
  /** Success test for `skipSuccessfulRequests` / `skipFailedRequests`. @default (request, reply) => reply.statusCode < 400 */
  requestWasSuccessful?: (request: FastifyRequest, reply: FastifyReply) => boolean
  /** Replaces the 429 response entirely (the headers are already set); send a reply from it. @default undefined */
  handler?: (request: FastifyRequest, reply: FastifyReply, decision: Decision) => unknown
}

/**
 * An `onRequest` hook that limits the routes it is attached to, for per-route use
 * (`app.post('/login', { onRequest: rateLimitHook({...}) }, handler)`). Same options,
 * headers and 429 problem+json as the Express middleware; the client address is
 * `request.ip` (set Fastify's `trustProxy` behind a proxy).
 */
export function rateLimitHook(options: RateLimitPluginOptions): onRequestAsyncHookHandler {
  const decide = createRequestLimit<FastifyRequest>(options, {
    defaultKey: (request, subnet) => ipKey(request.ip, subnet),
    fields: { requestWasSuccessful: functionOption, handler: functionOption },
  })
  const succeeded =
    options.requestWasSuccessful ??
    ((_request: FastifyRequest, reply: FastifyReply) => reply.statusCode < 400)

  return async function headroomRateLimit(request, reply) {
    const verdict = await decide(request)
    if (verdict === undefined) return
    request.rateLimit = { key: verdict.key, decision: verdict.decision }
    for (const [name, value] of verdict.headers) reply.header(name, value)
    if (verdict.refusal !== undefined) {
      if (options.handler) return options.handler(request, reply, verdict.decision)
      return reply.code(verdict.refusal.status).type(PROBLEM_JSON).send(verdict.refusal.body)
    }
    if (verdict.settles) {
      // The raw response tells both outcomes: 'finish' when the reply was written, 'close'
      // alone when the client went away first.
      reply.raw.once('finish', () => verdict.settle(succeeded(request, reply)))
      reply.raw.once('close', () => verdict.settle(reply.raw.writableFinished && succeeded(request, reply)))
    }
  }
}

const plugin: FastifyPluginAsync<RateLimitPluginOptions> = async (fastify, options) => {
  if (!fastify.hasRequestDecorator('rateLimit')) fastify.decorateRequest('rateLimit', null)
  fastify.addHook('onRequest', rateLimitHook(options))
}

/**
 * Fastify plugin: limits every route of the context it is registered in (it is wrapped
 * in `fastify-plugin`, so registering it inside an encapsulated `register` scopes it to
 * that context's routes). Decorates `request.rateLimit` with `{ key, decision }`.
 *
 * @example
 * import Fastify from 'fastify'
 * import { createRateLimiter } from '@headroom/rate-limit'
 * import { rateLimit } from '@headroom/rate-limit/fastify'
 *
 * const app = Fastify({ trustProxy: true })
 * await app.register(rateLimit, { limiter: createRateLimiter({ limit: 100, window: '1m' }) })
 */
export const rateLimit = fp(plugin, { fastify: '5.x', name: '@headroom/rate-limit' })

/** Options of the Fastify {@link slowDown} plugin and of {@link slowDownHook}; the default key is `ipKey(request.ip)`. */
export type SlowDownPluginOptions = SlowDownCommonOptions<FastifyRequest>

/**
 * The slowDown `onRequest` hook, for per-route use: past `delayAfter` hits in the
 * limiter's window, each request waits a growing delay before its handler runs. Sets
 * `request.slowDown` to `{ hits, delayAfter, delayMs }`.
 */
export function slowDownHook(options: SlowDownPluginOptions): onRequestAsyncHookHandler {
  const decide = createSlowDown<FastifyRequest>(options, {
    defaultKey: (request, subnet) => ipKey(request.ip, subnet),
    fields: {},
  })
  return async function headroomSlowDown(request, reply) {
    const verdict = await decide(request)
    if (verdict === undefined) return
    if (verdict.refusal) {
      return reply
        .code(verdict.refusal.status)
        .header('retry-after', verdict.refusal.retryAfter)
        .type(SLOW_DOWN_PROBLEM_JSON)
        .send(verdict.refusal.body)
    }
    request.slowDown = verdict.info
    if (verdict.info.delayMs <= 0) return
    // A client that leaves stops the wait; Fastify then drops the request on its closed socket.
    await hold(verdict.info.delayMs, (leave) => {
      reply.raw.once('close', leave)
      return () => reply.raw.off('close', leave)
    })
  }
}

const slowDownPlugin: FastifyPluginAsync<SlowDownPluginOptions> = async (fastify, options) => {
  const hook = slowDownHook(options)
  if (!fastify.hasRequestDecorator('slowDown')) fastify.decorateRequest('slowDown', null)
  fastify.addHook('onRequest', hook)
}

/**
 * Fastify plugin: slowDown on every route of the context it is registered in (wrapped in
 * `fastify-plugin`); decorates `request.slowDown`.
 *
 * @example
 * const hits = createRateLimiter({ redis, prefix: 'slow', algorithm: 'fixed-window', limit: 1, window: '15m' })
 * await app.register(slowDown, { limiter: hits, delayAfter: 50, delayMs: 200, maxDelayMs: 5000 })
 */
export const slowDown = fp(slowDownPlugin, { fastify: '5.x', name: '@headroom/rate-limit/slow-down' })
