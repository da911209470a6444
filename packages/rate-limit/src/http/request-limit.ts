import { parseOptions } from '@headroom/core'
import { z } from 'zod'
import type { ResolvedPolicy } from '../algorithms/policy.js'
import type { Decision } from '../limiter/decision.js'
import type { RateLimiter } from '../limiter/rate-limiter-types.js'
import type { SameKeys } from '../shared/schema.js'
import { type HeaderStyle, writeHeaders } from './headers.js'

/** The options of `rateLimit()` every framework adapter shares; `Req` is the framework's request. */
export interface RateLimitCommonOptions<Req> {
  /** The limiter deciding (memory or Redis). */
  limiter: RateLimiter
  /** The key of a request. @default the client IP via `ipKey()` (IPv6 by /56, IPv4-mapped folded) */
  key?: (req: Req) => string | Promise<string>
  /** Units a request costs. @default 1 */
  cost?: number | ((req: Req) => number)
  /** This request's limit (per tier); `undefined` keeps the limiter's. @default the limiter's limit */
  limit?: (req: Req) => number | undefined
  /** Requests to let through without counting. @default none */
  skip?: (req: Req) => boolean
  /** Give the units back when the response succeeded (count failures only: logins). @default false */
  skipSuccessfulRequests?: boolean
  /** Give the units back when the response failed or the client went away. @default false */
  skipFailedRequests?: boolean
  /** Header flavour; `false` sends none (Retry-After is always sent on 429). @default 'draft-11' */
  headers?: HeaderStyle | false
  /** IPv6 prefix length for the default key. @default 56 */
  ipv6Subnet?: number
  /** Status of a refusal. @default 429 */
  statusCode?: number
  /** `detail` of the problem+json body. @default 'Too many requests; retry after N seconds.' */
  message?: string | ((req: Req, decision: Decision) => string)
}

/** What `rateLimit()` leaves on the request (`res.locals.rateLimit`, `request.rateLimit`). */
export interface RateLimitInfo {
  key: string
  decision: Decision
}

/** The verdict on one request, for an adapter to write in its framework's terms. */
export interface RequestVerdict extends RateLimitInfo {
  /** Rate-limit headers to set (plus `Retry-After` on a refusal). */
  headers: Array<[name: string, value: string]>
  /** Set when the request is refused: the status and the problem+json body. */
  refusal?: { status: number; body: string }
  /**
   * Call once the response is over (`succeeded` is false when the client went away)
   * when `settles` is true: gives the units back as `skipSuccessfulRequests` /
   * `skipFailedRequests` ask.
   */
  settle(succeeded: boolean): void
  /** Whether the adapter must report the outcome through `settle`. */
  settles: boolean
}

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'Expected a function')

/** The fields of `rateLimit()` every adapter shares; an adapter adds its own. */
const rateLimitFields = {
  limiter: z.custom<RateLimiter>(
    (v) => typeof v === 'object' && v !== null && typeof (v as RateLimiter).consume === 'function',
    'Expected a rate limiter from createRateLimiter()',
  ),
  key: fn.optional(),
  cost: z.union([z.number(), fn]).default(1),
  limit: fn.optional(),
  skip: fn.optional(),
  skipSuccessfulRequests: z.boolean().optional(),
  skipFailedRequests: z.boolean().optional(),
  headers: z
    .union([z.enum(['draft-11', 'draft-8', 'draft-7', 'legacy']), z.literal(false)], {
      error: "Expected 'draft-11', 'draft-8', 'draft-7', 'legacy' or false",
    })
    .default('draft-11'),
  ipv6Subnet: z.number().default(56),
  statusCode: z.number().int().default(429),
  message: z.union([z.string(), fn]).optional(),
}
true satisfies SameKeys<typeof rateLimitFields, RateLimitCommonOptions<unknown>>

/** What an adapter gives the shared core: the default key of a request, and its own option fields. */
export interface RequestLimitAdapter<Req> {
  defaultKey: (req: Req, ipv6Subnet: number) => string
  /** The adapter's own options (`handler`, `requestWasSuccessful`, ...): unknown keys are refused. */
  fields: z.ZodRawShape
}

/** The schema field of an adapter's function option. */
export const functionOption = fn.optional()

/** Content type of every refusal body. */
export const PROBLEM_JSON = 'application/problem+json; charset=utf-8'

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
 * The framework-neutral part of `rateLimit()`: validates the options once and decides
 * each request (key, cost, tier limit, headers, refusal body, refund on the outcome),
 * so the Express, Fastify and fetch adapters answer alike.
 */
export function createRequestLimit<Req>(
  options: RateLimitCommonOptions<Req>,
  adapter: RequestLimitAdapter<Req>,
): (req: Req) => Promise<RequestVerdict | undefined> {
  const parsed = parseOptions('rateLimit', z.object({ ...rateLimitFields, ...adapter.fields }), options)
  const { limiter, ipv6Subnet: subnet, statusCode } = parsed
  const headerStyle = parsed.headers
  const keyOf = options.key ?? ((req: Req) => adapter.defaultKey(req, subnet))
  const refundWhen = options.skipSuccessfulRequests || options.skipFailedRequests

  return async (req) => {
    if (options.skip?.(req)) return undefined
    const key = await keyOf(req)
    const cost = typeof options.cost === 'function' ? options.cost(req) : (parsed.cost as number)
    const limit = options.limit?.(req)
    const decision = await limiter.consume(key, { cost, limit })
    const headers: Array<[string, string]> = []
    if (headerStyle !== false)
      writeHeaders(
        headerStyle,
        (name, value) => headers.push([name, value]),
        decision,
        withLimit(limiter.policies, limit),
        Date.now(),
      )
    let settled = false
    const verdict: RequestVerdict = {
      key,
      decision,
      headers,
      settles: Boolean(refundWhen) && cost > 0 && decision.allowed,
      settle(succeeded) {
        if (settled || !verdict.settles) return
        settled = true
        if ((succeeded && options.skipSuccessfulRequests) || (!succeeded && options.skipFailedRequests)) {
          // A failed refund only means this request stays counted; nothing to tell the client.
          limiter.refund(key, { cost, limit }).catch(() => {})
        }
      },
    }
    if (!decision.allowed) {
      const retrySeconds = Number.isFinite(decision.retryAfterMs)
        ? Math.max(1, Math.ceil(decision.retryAfterMs / 1000))
        : undefined
      if (retrySeconds !== undefined) headers.push(['Retry-After', String(retrySeconds)])
      const detail =
        typeof options.message === 'function'
          ? options.message(req, decision)
          : (options.message ??
            (retrySeconds === undefined
              ? 'This request costs more than the limit allows.'
              : `Too many requests; retry after ${retrySeconds} seconds.`))
      verdict.refusal = {
        status: statusCode,
        body: JSON.stringify({
          type: 'about:blank',
          title: 'Too Many Requests',
          status: statusCode,
          detail,
          ...(retrySeconds === undefined ? {} : { retryAfter: retrySeconds }),
          policy: decision.policy,
        }),
      }
    }
    return verdict
  }
}
