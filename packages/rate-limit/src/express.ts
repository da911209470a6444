import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { ipKey } from './ip-key.js'
import type { RateLimiter } from './rate-limiter-types.js'
import {
  createRequestLimit,
  PROBLEM_JSON,
  type RateLimitCommonOptions,
  type RateLimitInfo,
} from './request-limit.js'
import type { Decision } from './types.js'

export { type HeaderStyle, writeHeaders } from './headers.js'
export { expandIPv6, ipKey } from './ip-key.js'
export type { RateLimitCommonOptions, RateLimitInfo } from './request-limit.js'

/** Options of {@link rateLimit}. */
export interface RateLimitMiddlewareOptions extends RateLimitCommonOptions<Request> {
  /** Success test for `skipSuccessfulRequests` / `skipFailedRequests`. @default (req, res) => res.statusCode < 400 */
  requestWasSuccessful?: (req: Request, res: Response) => boolean
  /** Replaces the 429 response entirely (the headers are already set). @default undefined */
  handler?: (req: Request, res: Response, next: NextFunction, decision: Decision) => void
}

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
  const decide = createRequestLimit<Request>(options, (req, subnet) =>
    ipKey(req.ip ?? req.socket.remoteAddress, subnet),
  )
  const succeeded = options.requestWasSuccessful ?? ((_req: Request, res: Response) => res.statusCode < 400)

  const handle = async (req: Request, res: Response, next: NextFunction) => {
    const verdict = await decide(req)
    if (verdict === undefined) return next()
    const { key, decision } = verdict
    res.locals.rateLimit = { key, decision } satisfies RateLimitInfo
    for (const [name, value] of verdict.headers)
      if (name === 'Retry-After' || !res.headersSent) res.setHeader(name, value)
    if (verdict.refusal !== undefined) {
      if (options.handler) return options.handler(req, res, next, decision)
      res.status(verdict.refusal.status)
      res.setHeader('Content-Type', PROBLEM_JSON)
      res.end(verdict.refusal.body)
      return
    }
    if (verdict.settles) {
      res.once('finish', () => verdict.settle(succeeded(req, res)))
      res.once('close', () => verdict.settle(res.writableFinished && succeeded(req, res)))
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
