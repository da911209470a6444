import type { RedisClient } from '@headroom/core'
import { createRateLimiter, type Decision, type RateLimiter } from '@headroom/rate-limit'
import type { Request, RequestHandler, Response } from 'express'
import type { Tier } from '../auth/tokens.js'
import { sendProblem } from '../http/problem.js'
import type { AppLogger } from '../logger.js'

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
}): AppLimits {
  const common = {
    ...(options.redis ? { redis: options.redis } : {}),
    onStoreError: 'local' as const,
    instances: options.instances,
    logger: options.logger.child({ component: 'rate-limit' }),
  }
  const make = (name: string, limit: number) =>
    createRateLimiter({ ...common, prefix: `${options.prefix}:rl:${name}`, algorithm: 'gcra', limit, window: '1m' })
  const limiters = {
    auth: make('auth', LIMITS.auth),
    content: make('content', LIMITS.content),
    api: make('api', LIMITS.api),
    login: createRateLimiter({
      ...common,
      prefix: `${options.prefix}:rl:login`,
      algorithm: 'sliding-window',
      limit: LOGIN_FAILURES.limit,
      window: LOGIN_FAILURES.windowMs,
    }),
  }

  const middleware = (limiter: RateLimiter, base: number, byUser: boolean): RequestHandler => {
    return async (req, res, next) => {
      const user = byUser ? req.user : undefined
      const key = user ? `u:${user.sub}` : `ip:${clientKey(req)}`
      const limit = base * TIER_MULTIPLIER[user?.tier ?? 'free']
      const decision = await limiter.consume(key, { limit })
      setHeaders(res, decision)
      if (decision.allowed) return next()
      refuse(res, decision)
    }
  }

  const loginKey = (email: string, ip: string) => `${email}|${ip}`
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
        await limiters.login.consume(loginKey(email, ip))
        // The attempt that used the last unit is answered 401; the next one is refused.
        return refusal(await limiters.login.peek(loginKey(email, ip)))
      },
    },
    stats: () => Object.fromEntries(Object.entries(limiters).map(([name, limiter]) => [name, limiter.stats()])),
    async close() {
      await Promise.all(Object.values(limiters).map((limiter) => limiter.close()))
    },
  }
}

/** IPv6 clients are keyed by their /56: one host can hold a whole /64 and rotate through it. */
function clientKey(req: Request): string {
  const ip = req.ip ?? 'unknown'
  if (!ip.includes(':') || ip.startsWith('::ffff:')) return ip.replace(/^::ffff:/, '')
  const groups = expandIpv6(ip)
  return groups ? `${groups.slice(0, 3).join(':')}:${groups[3]!.slice(0, 2)}00::/56` : ip
}

function expandIpv6(ip: string): string[] | null {
  const [head, tail] = ip.split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const missing = 8 - left.length - right.length
  if (missing < 0 || (tail === undefined && missing !== 0)) return null
  return [...left, ...Array(missing).fill('0'), ...right].map((g) => g.padStart(4, '0'))
}

function setHeaders(res: Response, decision: Decision): void {
  const resetSeconds = Math.max(0, Math.ceil(decision.resetMs / 1000))
  res.setHeader('RateLimit-Policy', `${decision.limit};w=60`)
  res.setHeader('RateLimit', `limit=${decision.limit}, remaining=${Math.floor(decision.remaining)}, reset=${resetSeconds}`)
}

function refuse(res: Response, decision: Decision): void {
  const seconds = Number.isFinite(decision.retryAfterMs) ? Math.max(1, Math.ceil(decision.retryAfterMs / 1000)) : 60
  res.setHeader('Retry-After', String(seconds))
  sendProblem(res, 429, {
    title: 'Too Many Requests',
    detail: `Rate limit of ${decision.limit} requests per minute exceeded; retry in ${seconds} s`,
  })
}
