// The framework-neutral core of slowDown: validates the options once and turns a request
// into a verdict (skip, a 503 when the counter is unavailable and the limiter refuses,
// or how long to hold it). The Express, Fastify and fetch adapters only wait and answer.
import { parseOptions } from '@headroom/core'
import { z } from 'zod'
import type { RateLimiter } from '../limiter/rate-limiter-types.js'
import type { SameKeys } from '../shared/schema.js'

/**
 * Options of slowDown, whatever the framework. When the limiter's store fails, its
 * `onStoreError` decides: `'open'` serves at full speed, `'local'` counts this process'
 * hits and delays as if the fleet had seen `hits x instances`, `'closed'` answers 503
 * with `Retry-After`.
 */
export interface SlowDownCommonOptions<Req> {
  /** A `fixed-window` or `sliding-window` limiter: it counts the hits in its window (its own limit is not used). */
  limiter: RateLimiter
  /** @default the client IP via `ipKey` */
  key?: (req: Req) => string | Promise<string>
  /** Hits per window served at full speed. */
  delayAfter: number
  /** Delay added per hit past `delayAfter` (hit n waits (n - delayAfter) x delayMs). @default 1000 */
  delayMs?: number
  /** The longest delay (in any case at most 2^31 - 1 ms, the longest timer Node runs). @default Infinity */
  maxDelayMs?: number
  /** @default none */
  skip?: (req: Req) => boolean
  /** @default 56 */
  ipv6Subnet?: number
}

/** What slowDown decided for a request (`res.locals.slowDown`, `request.slowDown`, `slowDownInfo(request)`). */
export interface SlowDownInfo {
  /** Hits of this client in the window, this one included (estimated for the fleet on the local fallback). */
  hits: number
  delayAfter: number
  /** How long this request is held, ms. */
  delayMs: number
}

/** A 503 answer: the counter is unavailable and the limiter is set to refuse. */
export interface SlowDownRefusal {
  status: 503
  retryAfter: string
  body: string
}

export type SlowDownVerdict =
  | { refusal: SlowDownRefusal; info?: undefined }
  | { info: SlowDownInfo; refusal?: undefined }

export const SLOW_DOWN_PROBLEM_JSON = 'application/problem+json; charset=utf-8'

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'Expected a function')
const atLeastZero = z.custom<number>((v) => typeof v === 'number' && v >= 0, 'Expected a number >= 0')

const slowDownFields = {
  limiter: z.custom<RateLimiter>(
    (v) => typeof v === 'object' && v !== null && typeof (v as RateLimiter).consume === 'function',
    'Expected a rate limiter from createRateLimiter()',
  ),
  key: fn.optional(),
  delayAfter: z.number().int().min(0, 'Expected an integer >= 0'),
  delayMs: atLeastZero.default(1000),
  maxDelayMs: atLeastZero.default(Number.POSITIVE_INFINITY),
  skip: fn.optional(),
  ipv6Subnet: z.number().default(56),
}
true satisfies SameKeys<typeof slowDownFields, SlowDownCommonOptions<unknown>>

/** What an adapter gives the shared core: the client address of a request, and its own option fields. */
export interface SlowDownAdapter<Req> {
  /** Called before the first await. */
  defaultKey: (req: Req, ipv6Subnet: number) => string
  /** The adapter's own options: unknown keys are refused. */
  fields: z.ZodRawShape
}

/** The hit counter ceiling slowDown asks for: never reached, so every hit is counted. */
const COUNT_ALL = 1e9
/** Node runs a longer `setTimeout` after 1 ms: a delay is capped here so it never turns into none. */
const LONGEST_TIMER_MS = 2 ** 31 - 1

/**
 * Validates the options (throwing a TypeError that names the option) and returns the
 * decision per request; undefined when `skip` says so. `defaultKey` is the adapter's
 * client address; it is called before the first await.
 */
export function createSlowDown<Req>(
  options: SlowDownCommonOptions<Req>,
  adapter: SlowDownAdapter<Req>,
): (req: Req) => Promise<SlowDownVerdict | undefined> {
  const { limiter, delayAfter, delayMs, maxDelayMs, ipv6Subnet } = parseOptions(
    'slowDown',
    z.object({ ...slowDownFields, ...adapter.fields }),
    options,
  )
  const algorithm = limiter.policies[0]!.algorithm
  if (algorithm !== 'fixed-window' && algorithm !== 'sliding-window')
    throw new TypeError(
      `Invalid slowDown option "limiter": expected a fixed-window or sliding-window limiter (received ${algorithm})`,
    )
  const keyOf = options.key ?? ((req: Req) => adapter.defaultKey(req, ipv6Subnet))

  return async (req) => {
    if (options.skip?.(req)) return undefined
    const decision = await limiter.consume(await keyOf(req), { limit: COUNT_ALL })
    if (decision.source === 'closed') {
      // The store failed and the limiter is configured to refuse: holding every request
      // for the longest delay would tie up connections without protecting anything.
      const retrySeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000))
      return {
        refusal: {
          status: 503,
          retryAfter: String(retrySeconds),
          body: JSON.stringify({
            type: 'about:blank',
            title: 'Service Unavailable',
            status: 503,
            detail: `The request counter is unavailable; retry after ${retrySeconds} seconds.`,
            retryAfter: retrySeconds,
          }),
        },
      }
    }
    // Only a block() refuses a count this high: a blocked client gets the longest delay.
    // The local fallback counts this process' hits against COUNT_ALL / instances; scaled
    // back by the same ratio they estimate the fleet's hits (each instance sees its share).
    const counted = decision.limit - decision.remaining
    const hits = !decision.allowed
      ? COUNT_ALL
      : Math.round(decision.source === 'local' ? counted * (COUNT_ALL / decision.limit) : counted)
    const delay =
      hits > delayAfter ? Math.min(maxDelayMs, LONGEST_TIMER_MS, (hits - delayAfter) * delayMs) : 0
    return { info: { hits, delayAfter, delayMs: delay } }
  }
}

/**
 * Waits `ms`; resolves `true` when the time is up, `false` as soon as `gone` says the
 * client left (the timer is cleared then: nothing holds a request nobody waits for).
 */
export function hold(ms: number, whenGone: (leave: () => void) => () => void): Promise<boolean> {
  return new Promise((resolve) => {
    const stop = whenGone(() => {
      clearTimeout(timer)
      resolve(false)
    })
    const timer = setTimeout(() => {
      stop()
      resolve(true)
    }, ms)
  })
}
