import type { NextFunction, Request, RequestHandler, Response } from 'express'
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
export type { RateLimitCommonOptions, RateLimitInfo } from './http/request-limit.js'
export type { SlowDownCommonOptions, SlowDownInfo } from './slow-down/slow-down.js'

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
  const decide = createRequestLimit<Request>(options, {
    defaultKey: (req, subnet) => ipKey(req.ip ?? req.socket.remoteAddress, subnet),
    fields: { requestWasSuccessful: functionOption, handler: functionOption },
  })
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

/** Options of {@link slowDown}: see {@link SlowDownCommonOptions}; the default key is `ipKey(req.ip)`. */
export type SlowDownOptions = SlowDownCommonOptions<Request>

/**
 * Express middleware that slows clients down instead of refusing them: past
 * `delayAfter` hits in the limiter's window, each request waits a growing delay.
 * `res.locals.slowDown` holds `{ hits, delayAfter, delayMs }`.
 *
 * @example
 * const hits = createRateLimiter({ redis, prefix: 'slow', algorithm: 'fixed-window', limit: 1, window: '15m' })
 * app.use('/search', slowDown({ limiter: hits, delayAfter: 50, delayMs: 200, maxDelayMs: 5000 }))
 */
export function slowDown(options: SlowDownOptions): RequestHandler {
  const decide = createSlowDown<Request>(options, {
    defaultKey: (req, subnet) => ipKey(req.ip ?? req.socket.remoteAddress, subnet),
    fields: {},
  })

  const handle = async (req: Request, res: Response, next: NextFunction) => {
    const verdict = await decide(req)
    if (verdict === undefined) return next()
    if (verdict.refusal) {
      res.status(verdict.refusal.status)
      res.setHeader('Retry-After', verdict.refusal.retryAfter)
      res.setHeader('Content-Type', SLOW_DOWN_PROBLEM_JSON)
      res.end(verdict.refusal.body)
      return
    }
    res.locals.slowDown = verdict.info satisfies SlowDownInfo
    if (verdict.info.delayMs <= 0) return next()
    // A client that leaves stops the wait (and the timer).
    const served = await hold(verdict.info.delayMs, (leave) => {
      res.once('close', leave)
      return () => res.off('close', leave)
    })
    if (served) next()
  }

  return (req, res, next) => {
    handle(req, res, next).catch(next)
  }
}
