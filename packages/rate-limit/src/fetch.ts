import { type FetchMiddleware, type HonoLikeContext, toFetchMiddleware, withHeaders } from '@headroom/core'
import { ipKey } from './http/ip-key.js'
import {
  createRequestLimit,
  functionOption,
  PROBLEM_JSON,
  type RateLimitCommonOptions,
} from './http/request-limit.js'
import type { Decision } from './limiter/decision.js'
import {
  createSlowDown,
  hold,
  SLOW_DOWN_PROBLEM_JSON,
  type SlowDownCommonOptions,
  type SlowDownInfo,
} from './slow-down/slow-down.js'

export type { FetchMiddleware, FetchNext, HonoLikeContext } from '@headroom/core'
export { type HeaderStyle, writeHeaders } from './http/headers.js'
export { expandIPv6, ipKey } from './http/ip-key.js'
export type { RateLimitInfo } from './http/request-limit.js'
export type { SlowDownCommonOptions, SlowDownInfo } from './slow-down/slow-down.js'

/** Options of the fetch {@link rateLimit}. */
export interface FetchRateLimitOptions extends RateLimitCommonOptions<Request> {
  /**
   * The client address of a request, for the default key (a `Request` carries none):
   * under Hono on Node, `(request, c) => getConnInfo(c).remote.address`; behind a proxy
   * you trust, its forwarding header. Either `key` or `ip` is required.
   */
  ip?: (request: Request, context: HonoLikeContext | undefined) => string | undefined
  /** Success test for `skipSuccessfulRequests` / `skipFailedRequests`. @default (request, response) => response.status < 400 */
  requestWasSuccessful?: (request: Request, response: Response) => boolean
  /** Replaces the 429 response entirely; the rate-limit headers are added to what it returns. @default undefined */
  handler?: (request: Request, decision: Decision) => Response | Promise<Response>
}

/**
 * Fetch-standard rate limiting (`Request` -> `Response`: Hono, Bun, Deno, route handlers),
 * with the Express middleware's options, headers and 429 problem+json. Works as Hono
 * middleware (`app.use(rateLimit(...))`) and as a plain wrapper
 * (`rateLimit(...)(request, () => handler(request))`).
 *
 * @example
 * import { Hono } from 'hono'
 * import { createRateLimiter } from '@headroom/rate-limit'
 * import { rateLimit } from '@headroom/rate-limit/fetch'
 *
 * const app = new Hono()
 * app.use('/api/*', rateLimit({ limiter: createRateLimiter({ limit: 100, window: '1m' }), key: (req) => req.headers.get('x-api-key') ?? 'anonymous' }))
 */
export function rateLimit(options: FetchRateLimitOptions): FetchMiddleware {
  if (options.key === undefined && options.ip === undefined)
    throw new TypeError(
      'Invalid rateLimit option "key": a fetch Request carries no client address; pass key: (request) => string or ip: (request, c) => string (received neither)',
    )
  // The shared core passes the key function the Request only; the Hono context reaches
  // `ip` through this slot. It is set and cleared around the synchronous start of the
  // decision, where the core calls the default key before its first await, so concurrent
  // requests never see each other's context.
  let currentContext: HonoLikeContext | undefined
  const decide = createRequestLimit<Request>(options, {
    defaultKey: (request, subnet) => ipKey(options.ip?.(request, currentContext), subnet),
    fields: { ip: functionOption, requestWasSuccessful: functionOption, handler: functionOption },
  })
  const succeeded =
    options.requestWasSuccessful ?? ((_request: Request, response: Response) => response.status < 400)

  return toFetchMiddleware(async (request, next, context) => {
    currentContext = context
    const pending = decide(request)
    currentContext = undefined
    const verdict = await pending
    if (verdict === undefined) return next()
    if (verdict.refusal !== undefined) {
      const refused = options.handler
        ? await options.handler(request, verdict.decision)
        : new Response(verdict.refusal.body, {
            status: verdict.refusal.status,
            headers: { 'Content-Type': PROBLEM_JSON },
          })
      return withHeaders(refused, verdict.headers)
    }
    let response: Response
    try {
      response = await next()
    } catch (error) {
      verdict.settle(false)
      throw error
    }
    verdict.settle(succeeded(request, response))
    return withHeaders(response, verdict.headers)
  })
}

/** Options of the fetch {@link slowDown}: `key` or `ip` is required, as for `rateLimit`. */
export interface FetchSlowDownOptions extends SlowDownCommonOptions<Request> {
  /** The client address of a request, for the default key (see `rateLimit`'s `ip`). */
  ip?: (request: Request, context: HonoLikeContext | undefined) => string | undefined
}

// Keyed by the Request: the one object every middleware of the chain and the handler share.
const slowDownInfos = new WeakMap<Request, SlowDownInfo>()

/** What slowDown decided for a request (`{ hits, delayAfter, delayMs }`); under Hono pass `c.req.raw`. */
export function slowDownInfo(request: Request): SlowDownInfo | undefined {
  return slowDownInfos.get(request)
}

/**
 * Fetch-standard slowDown (Hono middleware or a plain wrapper): past `delayAfter` hits in
 * the limiter's window, each request waits a growing delay before the rest of the chain
 * runs; a client that leaves (the request's `signal` aborts) stops the wait.
 *
 * @example
 * const hits = createRateLimiter({ redis, prefix: 'slow', algorithm: 'fixed-window', limit: 1, window: '15m' })
 * app.use('/search/*', slowDown({ limiter: hits, delayAfter: 50, delayMs: 200, key: (req) => req.headers.get('x-api-key') ?? 'anonymous' }))
 */
export function slowDown(options: FetchSlowDownOptions): FetchMiddleware {
  if (options.key === undefined && options.ip === undefined)
    throw new TypeError(
      'Invalid slowDown option "key": a fetch Request carries no client address; pass key: (request) => string or ip: (request, c) => string (received neither)',
    )
  const { ip, ...common } = options
  // As in rateLimit: the Hono context reaches `ip` through this slot, set around the
  // synchronous start of the decision, where the core calls the default key.
  let currentContext: HonoLikeContext | undefined
  const decide = createSlowDown<Request>(common, {
    defaultKey: (request, subnet) => ipKey(ip?.(request, currentContext), subnet),
    fields: { ip: functionOption },
  })
  return toFetchMiddleware(async (request, next, context) => {
    currentContext = context
    const pending = decide(request)
    currentContext = undefined
    const verdict = await pending
    if (verdict === undefined) return next()
    if (verdict.refusal) {
      return new Response(verdict.refusal.body, {
        status: verdict.refusal.status,
        headers: { 'Retry-After': verdict.refusal.retryAfter, 'Content-Type': SLOW_DOWN_PROBLEM_JSON },
      })
    }
    slowDownInfos.set(request, verdict.info)
    if (verdict.info.delayMs > 0) {
      const { signal } = request
      const served = await hold(verdict.info.delayMs, (leave) => {
        signal.addEventListener('abort', leave, { once: true })
        return () => signal.removeEventListener('abort', leave)
      })
      // Nobody reads the answer: a bare 499-style close is all that is left to give.
      if (!served) return new Response(null, { status: 499 })
    }
    return next()
  })
}
