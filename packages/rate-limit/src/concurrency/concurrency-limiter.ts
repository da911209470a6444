import { randomBytes } from 'node:crypto'
import {
  type Clock,
  childLogger,
  createCommandTimeout,
  createFailureGate,
  defineScript,
  hashTaggedKey,
  type Logger,
  parseOptions,
  type RedisClient,
  runScript,
  systemClock,
} from '@headroom/core'
import { z } from 'zod'

/** Options of {@link createConcurrencyLimiter}. */
export interface ConcurrencyLimiterOptions {
  /** Redis (standalone or Cluster); without it leases live in memory. @default undefined */
  redis?: RedisClient
  /** Key prefix; a key's leases are the sorted set `{prefix:key}:leases`. @default 'cl' */
  prefix?: string
  /** Most leases held at once per key. */
  limit: number
  /** A lease not released within this is dropped (its holder died or hung). @default 60000 */
  leaseMs?: number
  /** Deadline of each Redis call. @default 50 */
  timeout?: number
  /** When Redis fails: `open` grants without a lease record, `closed` refuses, `local` counts in this process against `limit / instances`. @default 'local' */
  onStoreError?: 'open' | 'closed' | 'local'
  /** Processes sharing the limit, for `onStoreError: 'local'`. @default 1 */
  instances?: number
  /** @default systemClock */
  clock?: Clock
  /** @default silent */
  logger?: Logger
}

/** A held slot; `release()` frees it (idempotent, never rejects). */
export interface Lease {
  readonly id: string
  readonly key: string
  release(): Promise<void>
}

/** The outcome of `acquire`, as a value. */
export interface ConcurrencyDecision {
  allowed: boolean
  /** Leases held for the key, this one included when allowed. */
  active: number
  limit: number
  /** When refused: milliseconds until the oldest lease expires at the latest. */
  retryAfterMs: number
  lease: Lease | undefined
  source: 'memory' | 'redis' | 'open' | 'closed' | 'local'
}

/** Limits how many operations per key run at once, across processes. */
export interface ConcurrencyLimiter {
  acquire(key: string, options?: { limit?: number }): Promise<ConcurrencyDecision>
  /** Runs `fn` holding a lease, releasing it however `fn` ends; resolves `undefined`-free: refused calls resolve `{ allowed: false }`. */
  run<T>(
    key: string,
    fn: () => Promise<T> | T,
  ): Promise<{ allowed: true; value: T } | { allowed: false; decision: ConcurrencyDecision }>
  /** Leases currently held for `key` (expired ones excluded). */
  active(key: string): Promise<number>
  close(): Promise<void>
}

const acquireScript = defineScript(
  'headroom-concurrency-acquire',
  `
local now
if ARGV[4] ~= '' then now = tonumber(ARGV[4]) else
  local t = redis.call('TIME'); now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
local limit, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local n = redis.call('ZCARD', KEYS[1])
if n < limit then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(tonumber(last[2]) - now)))
  return { 1, n + 1, 0 }
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return { 0, n, math.max(1, math.ceil(tonumber(first[2]) - now)) }
`,
)

const activeScript = defineScript(
  'headroom-concurrency-active',
  `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] ~= '' then now = tonumber(ARGV[1]) end
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
`,
)

const schema = z.object({
  redis: z.custom<RedisClient>((v) => v === undefined || (typeof v === 'object' && v !== null)).optional(),
  prefix: z
    .string()
    .min(1)
    .regex(/^[^{}]*$/, 'May not contain "{" or "}"')
    .default('cl'),
  limit: z.number().int().positive(),
  leaseMs: z.number().int().positive().default(60_000),
  timeout: z.number().positive().default(50),
  onStoreError: z.enum(['open', 'closed', 'local']).default('local'),
  instances: z.number().int().positive().default(1),
  clock: z.custom<Clock>((v) => v === undefined || typeof (v as Clock)?.now === 'function').optional(),
  logger: z.custom<Logger>((v) => v === undefined || typeof v === 'object').optional(),
})

/**
 * Creates a concurrency limiter: leases with a TTL, so a crashed holder frees its
 * slot after `leaseMs`; one script per acquire on Redis' clock.
 *
 * @example
 * const reports = createConcurrencyLimiter({ redis, prefix: 'reports', limit: 2, leaseMs: 30_000 })
 * const result = await reports.run(`user:${id}`, () => buildMonthlyReport(id))
 * if (!result.allowed) res.status(429).end()
 */
export function createConcurrencyLimiter(input: ConcurrencyLimiterOptions): ConcurrencyLimiter {
  const options = parseOptions('createConcurrencyLimiter', schema, input)
  const clock = options.clock ?? systemClock
  const logger = childLogger(options.logger, { component: 'rate-limit', limiter: 'concurrency' })
  const timeout = createCommandTimeout(options.timeout, clock)
  const gate = createFailureGate({ clock })
  const idBase = randomBytes(6).toString('hex')
  let sequence = 0
  // Memory leases (the store without Redis, and the `local` fallback): key -> lease id -> expiry.
  const leases = new Map<string, Map<string, number>>()

  const memoryAcquire = (key: string, limit: number, source: 'memory' | 'local'): ConcurrencyDecision => {
    const now = clock.now()
    let held = leases.get(key)
    if (held === undefined) {
      held = new Map()
      leases.set(key, held)
    }
    let earliest = Number.POSITIVE_INFINITY
    for (const [id, expiresAt] of held) {
      if (expiresAt <= now) held.delete(id)
      else if (expiresAt < earliest) earliest = expiresAt
    }
    if (held.size >= limit)
      return {
        allowed: false,
        active: held.size,
        limit,
        retryAfterMs: Math.max(1, earliest - now),
        lease: undefined,
        source,
      }
    const id = `${idBase}:${++sequence}`
    held.set(id, now + options.leaseMs)
    const map = held
    const lease: Lease = {
      id,
      key,
      release: async () => {
        map.delete(id)
        if (map.size === 0 && leases.get(key) === map) leases.delete(key)
      },
    }
    return { allowed: true, active: held.size, limit, retryAfterMs: 0, lease, source }
  }

  const redisKey = (key: string) => hashTaggedKey(options.prefix, key, 'leases')

  const fallback = (key: string, limit: number, error: unknown): ConcurrencyDecision => {
    logger.warn(
      { err: error, fallback: options.onStoreError },
      'concurrency store failed; deciding with the fallback',
    )
    if (options.onStoreError === 'local')
      return memoryAcquire(key, Math.max(1, Math.floor(limit / options.instances)), 'local')
    const open = options.onStoreError === 'open'
    const lease: Lease | undefined = open ? { id: 'open', key, release: async () => {} } : undefined
    return {
      allowed: open,
      active: 0,
      limit,
      retryAfterMs: open ? 0 : 1000,
      lease,
      source: options.onStoreError,
    }
  }

  const acquire = async (key: string, opts?: { limit?: number }): Promise<ConcurrencyDecision> => {
    if (typeof key !== 'string' || key.length === 0)
      throw new TypeError(
        `concurrency limiter acquire(): expected a non-empty string key (received ${JSON.stringify(key)})`,
      )
    if (opts !== undefined) {
      if (opts === null || typeof opts !== 'object' || Array.isArray(opts))
        throw new TypeError(
          `concurrency limiter acquire(): expected acquire(key, { limit }) with an options object (received ${JSON.stringify(opts)})`,
        )
      for (const name in opts)
        if (name !== 'limit')
          throw new TypeError(
            `concurrency limiter acquire(): unknown option "${name}": acquire(key, { limit }) takes only limit`,
          )
    }
    const limit = opts?.limit ?? options.limit
    if (!Number.isInteger(limit) || limit <= 0)
      throw new TypeError(
        `concurrency limiter acquire(): expected "limit" to be a positive integer (received ${String(limit)})`,
      )
    const redis = options.redis
    if (redis === undefined) return memoryAcquire(key, limit, 'memory')
    if (!gate.allow()) return fallback(key, limit, new Error('Redis is failing; calls are paused'))
    const id = `${idBase}:${++sequence}`
    try {
      const [ok, active, retry] = await timeout.run(
        runScript<number[]>(redis, acquireScript, [redisKey(key)], [limit, options.leaseMs, id, '']),
      )
      gate.success()
      if (ok !== 1)
        return {
          allowed: false,
          active: active!,
          limit,
          retryAfterMs: retry!,
          lease: undefined,
          source: 'redis',
        }
      let released = false
      const lease: Lease = {
        id,
        key,
        async release() {
          if (released) return
          released = true
          try {
            await timeout.run(redis.zrem(redisKey(key), id))
          } catch (error) {
            // The lease's TTL frees the slot anyway.
            logger.warn({ err: error }, 'concurrency lease release failed; it will expire')
          }
        },
      }
      return { allowed: true, active: active!, limit, retryAfterMs: 0, lease, source: 'redis' }
    } catch (error) {
      gate.failure()
      return fallback(key, limit, error)
    }
  }

  return {
    acquire,
    async run(key, fn) {
      const decision = await acquire(key)
      if (!decision.allowed || decision.lease === undefined) return { allowed: false, decision }
      try {
        return { allowed: true, value: await fn() }
      } finally {
        await decision.lease.release()
      }
    },
    async active(key) {
      if (options.redis === undefined) {
        const now = clock.now()
        let n = 0
        for (const expiresAt of leases.get(key)?.values() ?? []) if (expiresAt > now) n++
        return n
      }
      return timeout.run(runScript<number>(options.redis, activeScript, [redisKey(key)], ['']))
    },
    async close() {
      timeout.close()
      leases.clear()
    },
  }
}
