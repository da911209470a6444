import type { Clock, RedisClient } from '@headroom/core'
import { createRateLimiter, type Decision, type RateLimiter } from '@headroom/rate-limit'
import { ipKey, rateLimit } from '@headroom/rate-limit/express'
import type { RequestHandler } from 'express'
import type { Tier } from '../auth/tokens.js'
import { type AppLogger, boundLogger } from '../logger.js'

/** Per-minute limits of the free tier; paid tiers multiply them. */
export const LIMITS = { auth: 20, content: 200, api: 100 } as const
export const TIER_MULTIPLIER: Record<Tier, number> = { free: 1, basic: 2, premium: 5 }

/** Login: 5 failed attempts per 15 minutes per account and IP; successes cost nothing. */
export const LOGIN_FAILURES = { limit: 5, windowMs: 15 * 60_000 } as const

export interface AppLimits {
  /** 20/min per client IP on every auth route. */
  auth: RequestHandler
  /** 200/min per user on content (x2 basic, x5 premium). */
  content: RequestHandler
  /** 100/min per user on the rest of the API (x2 basic, x5 premium). */
  api: RequestHandler
  login: {
    /** The refusal when this account and IP used up their failed attempts, else null. */
    blocked(email: string, ip: string): Promise<{ retryAfterMs: number } | null>
    /** Counts a failed attempt; returns the refusal when it was one too many. */
    fail(email: string, ip: string): Promise<{ retryAfterMs: number } | null>
  }
  stats(): Record<string, ReturnType<RateLimiter['stats']>>
  close(): Promise<void>
}

/**
 * The app's rate limits on `@headroom/rate-limit`: GCRA per endpoint group, keyed by
 * user (or IP when anonymous), the limit scaled by tier per request; in Redis when
 * there is one (shared by every worker), deciding locally while Redis is down.
 */
export function createAppLimits(options: {
  redis: RedisClient | undefined
  prefix: string
  instances: number
  logger: AppLogger
  /** Tests drive time; with Redis the limiters then use this clock instead of the server's. */
  clock?: Clock
}): AppLimits {
  const common = {
    ...(options.redis ? { redis: options.redis } : {}),
    ...(options.clock ? { clock: options.clock, time: 'client' as const } : {}),
    onStoreError: 'local' as const,
    instances: options.instances,
    logger: boundLogger(options.logger),
  }
  const make = (name: string, limit: number) =>
    createRateLimiter({
      ...common,
      prefix: `${options.prefix}:rl:${name}`,
      algorithm: 'gcra',
      limit,
      window: '1m',
      // Past this the decision is local; generous enough for a busy 2-core box, short enough to stay unnoticed.
      timeout: 200,
    })
  const limiters = {
    auth: make('auth', LIMITS.auth),
    content: make('content', LIMITS.content),
    api: make('api', LIMITS.api),
    login: createRateLimiter({
      ...common,
      prefix: `${options.prefix}:rl:login`,
      // Exact: never more than 5 failures in any 15 minutes. An approximate sliding window
      // would let a burst at the end of one window and another late in the next through.
      algorithm: 'sliding-log',
      limit: LOGIN_FAILURES.limit,
      window: LOGIN_FAILURES.windowMs,
      // Logins are rare and slow (scrypt): wait longer for Redis, so counts stay shared.
      timeout: 1_000,
    }),
  }

  // The adapter sets the draft-11 headers (its default: `RateLimit-Policy: "default";q=100;w=60`,
  // `RateLimit: "default";r=99;t=60`) and answers refusals with 429, Retry-After and problem+json.
  const middleware = (limiter: RateLimiter, base: number, byUser: boolean): RequestHandler =>
    rateLimit({
      limiter,
      key: (req) =>
        byUser && req.user ? `u:${req.user.sub}` : `ip:${ipKey(req.ip ?? req.socket.remoteAddress)}`,
      limit: (req) => base * TIER_MULTIPLIER[(byUser && req.user?.tier) || 'free'],
      message: (_req, decision) =>
        `Rate limit of ${decision.limit} requests per minute exceeded; retry in ${Math.max(1, Math.ceil(decision.retryAfterMs / 1000))} s`,
    })

  const loginKey = (email: string, ip: string) => `${email}|${ipKey(ip)}`
  const refusal = (decision: Decision) => (decision.allowed ? null : { retryAfterMs: decision.retryAfterMs })

  return {
    auth: middleware(limiters.auth, LIMITS.auth, false),
    content: middleware(limiters.content, LIMITS.content, true),
    api: middleware(limiters.api, LIMITS.api, true),
    login: {
      async blocked(email, ip) {
        return refusal(await limiters.login.peek(loginKey(email, ip)))
      },
      async fail(email, ip) {
        // This failure is answered 401; the check before the next attempt refuses it.
        // Refused here only when concurrent failures raced past that check.
        return refusal(await limiters.login.consume(loginKey(email, ip)))
      },
    },
    stats: () =>
      Object.fromEntries(Object.entries(limiters).map(([name, limiter]) => [name, limiter.stats()])),
    async close() {
      await Promise.all(Object.values(limiters).map((limiter) => limiter.close()))
    },
  }
}
