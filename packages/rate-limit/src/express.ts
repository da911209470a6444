import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { type HeaderStyle, writeHeaders } from './headers.js'
import { ipKey } from './ip-key.js'
import type { RateLimiter } from './rate-limiter-types.js'
import type { Decision, ResolvedPolicy } from './types.js'

export { type HeaderStyle, writeHeaders } from './headers.js'
export { expandIPv6, ipKey } from './ip-key.js'

/** Options of {@link rateLimit}. */
export interface RateLimitMiddlewareOptions {
  /** The limiter deciding (memory or Redis). */
  limiter: RateLimiter
  /** The key of a request. @default the client IP via `ipKey(req.ip)` (IPv6 by /56, IPv4-mapped folded) */
  key?: (req: Request) => string | Promise<string>
  /** Units a request costs. @default 1 */
  cost?: number | ((req: Request) => number)
  /** This request's limit (per tier); `undefined` keeps the limiter's. @default the limiter's limit */
  limit?: (req: Request) => number | undefined
  /** Requests to let through without counting. @default none */
  skip?: (req: Request) => boolean
  /** Give the units back when the response succeeded (count failures only: logins). @default false */
  skipSuccessfulRequests?: boolean
  /** Give the units back when the response failed or the client went away. @default false */
  skipFailedRequests?: boolean
  /** Success test for the two options above. @default (req, res) => res.statusCode < 400 */
  requestWasSuccessful?: (req: Request, res: Response) => boolean
  /** Header flavour; `false` sends none (Retry-After is always sent on 429). @default 'draft-8' */
  headers?: HeaderStyle | false
  /** IPv6 prefix length for the default key. @default 56 */
  ipv6Subnet?: number
  /** Status of a refusal. @default 429 */
  statusCode?: number
  /** `detail` of the problem+json body. @default 'Too many requests; retry after N seconds.' */
  message?: string | ((req: Request, decision: Decision) => string)
  /** Replaces the 429 response entirely (the headers are already set). @default undefined */
  handler?: (req: Request, res: Response, next: NextFunction, decision: Decision) => void
}

/** What `rateLimit()` leaves on `res.locals.rateLimit`. */
export interface RateLimitInfo {
  key: string
  decision: Decision
}

const withLimit = (
  policies: readonly ResolvedPolicy[],
  limit: number | undefined,
): readonly ResolvedPolicy[] =>
  limit === undefined || limit === policies[0]!.limit
    ? policies
    : [
        { ...policies[0]!, limit, burst: (policies[0]!.burst / policies[0]!.limit) * limit },
        ...policies.slice(1),
      ]

/**
 * Express middleware: consumes from the limiter per request, sets the rate-limit
 * headers, and answers refusals with 429, `Retry-After` and an
 * `application/problem+json` body (RFC 9457).
 *
 * @example
 * import { createRateLimiter } from '@headroom/rate-limit'
 * import { rateLimit } from '@headroom/rate-limit/express'
 *
 * const limiter = createRateLimiter({ redis, prefix: 'api', limit: 100, window: '1m' })
 * app.use('/api', rateLimit({ limiter, limit: (req) => (req.user?.tier === 'premium' ? 1000 : undefined) }))
 *
 * // Failed logins only: never more than 5 in any 15 minutes, per account and IP.
 * const logins = createRateLimiter({ redis, prefix: 'login', algorithm: 'sliding-log', limit: 5, window: '15m' })
 * app.post('/login', rateLimit({ limiter: logins, key: (req) => `${req.body.email}:${ipKey(req.ip)}`, skipSuccessfulRequests: true }))
 */
export function rateLimit(options: RateLimitMiddlewareOptions): RequestHandler {
  const { limiter } = options
  if (limiter === null || typeof limiter !== 'object' || typeof limiter.consume !== 'function')
    throw new TypeError(
      'Invalid rateLimit option "limiter": expected a rate limiter from createRateLimiter()',
    )
  const headerStyle = options.headers === undefined ? 'draft-8' : options.headers
  if (headerStyle !== false && !['draft-11', 'draft-8', 'draft-7', 'legacy'].includes(headerStyle))
    throw new TypeError(
      `Invalid rateLimit option "headers": expected 'draft-11', 'draft-8', 'draft-7', 'legacy' or false (received ${JSON.stringify(headerStyle)})`,
    )
  const subnet = options.ipv6Subnet ?? 56
  const keyOf = options.key ?? ((req: Request) => ipKey(req.ip ?? req.socket.remoteAddress, subnet))
  const statusCode = options.statusCode ?? 429
  const succeeded = options.requestWasSuccessful ?? ((_req: Request, res: Response) => res.statusCode < 400)
  const refundWhen = options.skipSuccessfulRequests || options.skipFailedRequests

  const handle = async (req: Request, res: Response, next: NextFunction) => {
    if (options.skip?.(req)) return next()
    const key = await keyOf(req)
    const cost = typeof options.cost === 'function' ? options.cost(req) : (options.cost ?? 1)
    const limit = options.limit?.(req)
    const decision = await limiter.consume(key, { cost, limit })
    res.locals.rateLimit = { key, decision } satisfies RateLimitInfo
    if (headerStyle !== false && !res.headersSent)
      writeHeaders(
        headerStyle,
        (name, value) => res.setHeader(name, value),
        decision,
        withLimit(limiter.policies, limit),
        Date.now(),
      )
    if (!decision.allowed) {
      const retrySeconds = Number.isFinite(decision.retryAfterMs)
        ? Math.max(1, Math.ceil(decision.retryAfterMs / 1000))
        : undefined
      if (retrySeconds !== undefined) res.setHeader('Retry-After', String(retrySeconds))
      if (options.handler) return options.handler(req, res, next, decision)
      const detail =
        typeof options.message === 'function'
          ? options.message(req, decision)
          : (options.message ??
            (retrySeconds === undefined
              ? 'This request costs more than the limit allows.'
              : `Too many requests; retry after ${retrySeconds} seconds.`))
      res.status(statusCode)
      res.setHeader('Content-Type', 'application/problem+json; charset=utf-8')
      res.end(
        JSON.stringify({
          type: 'about:blank',
          title: 'Too Many Requests',
          status: statusCode,
          detail,
          ...(retrySeconds === undefined ? {} : { retryAfter: retrySeconds }),
          policy: decision.policy,
        }),
      )
      return
    }
    if (refundWhen && cost > 0) {
      let settled = false
      const settle = (finished: boolean) => {
        if (settled) return
        settled = true
        const ok = finished && succeeded(req, res)
        if ((ok && options.skipSuccessfulRequests) || (!ok && options.skipFailedRequests)) {
          // A failed refund only means this request stays counted; nothing to tell the client.
          limiter.refund(key, { cost, limit }).catch(() => {})
        }
      }
      res.once('finish', () => settle(true))
      res.once('close', () => settle(res.writableFinished))
    }
    next()
  }

  return (req, res, next) => {
    handle(req, res, next).catch(next)
  }
}

/**
 * Options of {@link slowDown}. When the limiter's store fails, its `onStoreError` decides:
 * `'open'` serves at full speed, `'local'` counts this process' hits and delays as if the
 * fleet had seen `hits x instances`, `'closed'` answers 503 with `Retry-After`.
 */
export interface SlowDownOptions {
  /** A `fixed-window` or `sliding-window` limiter: it counts the hits in its window (its own limit is not used). */
  limiter: RateLimiter
  /** @default the client IP via `ipKey(req.ip)` */
  key?: (req: Request) => string | Promise<string>
  /** Hits per window served at full speed. */
  delayAfter: number
  /** Delay added per hit past `delayAfter` (hit n waits (n - delayAfter) x delayMs). @default 1000 */
  delayMs?: number
  /** The longest delay (in any case at most 2^31 - 1 ms, the longest timer Node runs). @default Infinity */
  maxDelayMs?: number
  /** @default none */
  skip?: (req: Request) => boolean
  /** @default 56 */
  ipv6Subnet?: number
}

/** The hit counter ceiling slowDown asks for: never reached, so every hit is counted. */
const COUNT_ALL = 1e9
/** Node runs a longer `setTimeout` after 1 ms: a delay is capped here so it never turns into none. */
const LONGEST_TIMER_MS = 2 ** 31 - 1

/**
 * Express middleware that slows clients down instead of refusing them: past
 * `delayAfter` hits in the limiter's window, each request waits a growing delay.
 *
 * @example
 * const hits = createRateLimiter({ redis, prefix: 'slow', algorithm: 'fixed-window', limit: 1, window: '15m' })
 * app.use('/search', slowDown({ limiter: hits, delayAfter: 50, delayMs: 200, maxDelayMs: 5000 }))
 */
export function slowDown(options: SlowDownOptions): RequestHandler {
  const { limiter } = options
  if (limiter === null || typeof limiter !== 'object' || typeof limiter.consume !== 'function')
    throw new TypeError('Invalid slowDown option "limiter": expected a rate limiter from createRateLimiter()')
  const algorithm = limiter.policies[0]!.algorithm
  if (algorithm !== 'fixed-window' && algorithm !== 'sliding-window')
    throw new TypeError(
      `Invalid slowDown option "limiter": expected a fixed-window or sliding-window limiter (received ${algorithm})`,
    )
  if (!(Number.isInteger(options.delayAfter) && options.delayAfter >= 0))
    throw new TypeError(
      `Invalid slowDown option "delayAfter": expected an integer >= 0 (received ${String(options.delayAfter)})`,
    )
  const delayMs = options.delayMs ?? 1000
  const maxDelayMs = options.maxDelayMs ?? Number.POSITIVE_INFINITY
  if (!(delayMs >= 0))
    throw new TypeError(
      `Invalid slowDown option "delayMs": expected a number >= 0 (received ${String(delayMs)})`,
    )
  if (!(maxDelayMs >= 0))
    throw new TypeError(
      `Invalid slowDown option "maxDelayMs": expected a number >= 0 (received ${String(maxDelayMs)})`,
    )
  const subnet = options.ipv6Subnet ?? 56
  const keyOf = options.key ?? ((req: Request) => ipKey(req.ip ?? req.socket.remoteAddress, subnet))

  const handle = async (req: Request, res: Response, next: NextFunction) => {
    if (options.skip?.(req)) return next()
    const decision = await limiter.consume(await keyOf(req), { limit: COUNT_ALL })
    if (decision.source === 'closed') {
      // The store failed and the limiter is configured to refuse: holding every request
      // for the longest delay would tie up connections without protecting anything.
      const retrySeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000))
      res.status(503)
      res.setHeader('Retry-After', String(retrySeconds))
      res.setHeader('Content-Type', 'application/problem+json; charset=utf-8')
      res.end(
        JSON.stringify({
          type: 'about:blank',
          title: 'Service Unavailable',
          status: 503,
          detail: `The request counter is unavailable; retry after ${retrySeconds} seconds.`,
          retryAfter: retrySeconds,
        }),
      )
      return
    }
    // Only a block() refuses a count this high: a blocked client gets the longest delay.
    // The local fallback counts this process' hits against COUNT_ALL / instances; scaled
    // back by the same ratio they estimate the fleet's hits (each instance sees its share).
    const counted = decision.limit - decision.remaining
    const hits = !decision.allowed
      ? COUNT_ALL
      : Math.round(decision.source === 'local' ? counted * (COUNT_ALL / decision.limit) : counted)
    const delay =
      hits > options.delayAfter
        ? Math.min(maxDelayMs, LONGEST_TIMER_MS, (hits - options.delayAfter) * delayMs)
        : 0
    res.locals.slowDown = { hits, delayAfter: options.delayAfter, delayMs: delay }
    if (delay <= 0) return next()
    const timer = setTimeout(() => {
      res.off('close', onClose)
      next()
    }, delay)
    // A client that leaves stops the wait (and the timer).
    const onClose = () => clearTimeout(timer)
    res.once('close', onClose)
  }

  return (req, res, next) => {
    handle(req, res, next).catch(next)
  }
}
