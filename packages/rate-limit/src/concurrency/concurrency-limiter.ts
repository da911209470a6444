import { randomBytes } from 'node:crypto'
import {
  childLogger,
  createCommandTimeout,
  createFailureGate,
  hashTaggedKey,
  type OptionsSchemaMatch,
  parseOptions,
  runScript,
} from '@headroom/core'
import { z } from 'zod'
import { clockSchema, loggerSchema, positive, prefixSchema, redisSchema } from '../shared/schema.js'
import { MemoryLeases } from './memory-leases.js'
import { acquireArgv, acquireScript, activeScript } from './scripts.js'
import type { ConcurrencyDecision, ConcurrencyLimiter, ConcurrencyLimiterOptions, Lease } from './types.js'

const schema = z.object({
  redis: redisSchema.optional(),
  prefix: prefixSchema.default('cl'),
  limit: z.number().int().positive(),
  leaseMs: z.number().int().positive().default(60_000),
  timeout: positive.default(50),
  onStoreError: z.enum(['open', 'closed', 'local']).default('local'),
  instances: z.number().int().positive().default(1),
  clock: clockSchema,
  logger: loggerSchema.optional(),
})
true satisfies OptionsSchemaMatch<typeof schema, ConcurrencyLimiterOptions>

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
  const { clock } = options
  const logger = childLogger(options.logger, { component: 'rate-limit', limiter: 'concurrency' })
  const timeout = createCommandTimeout(options.timeout, clock)
  const gate = createFailureGate({ clock })
  const idBase = randomBytes(6).toString('hex')
  let sequence = 0
  const newId = () => `${idBase}:${++sequence}`
  const leases = new MemoryLeases(clock, options.leaseMs, newId)

  const redisKey = (key: string) => hashTaggedKey(options.prefix, key, 'leases')

  const fallback = (key: string, limit: number, error: unknown): ConcurrencyDecision => {
    logger.warn(
      { err: error, fallback: options.onStoreError },
      'concurrency store failed; deciding with the fallback',
    )
    if (options.onStoreError === 'local')
      return leases.acquire(key, Math.max(1, Math.floor(limit / options.instances)), 'local')
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
    if (redis === undefined) return leases.acquire(key, limit, 'memory')
    if (!gate.allow()) return fallback(key, limit, new Error('Redis is failing; calls are paused'))
    const id = newId()
    try {
      const [ok, active, retry] = await timeout.run(
        runScript<number[]>(
          redis,
          acquireScript,
          [redisKey(key)],
          acquireArgv({ limit, leaseMs: options.leaseMs, id, now: '' }),
        ),
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
      if (options.redis === undefined) return leases.active(key)
      return timeout.run(runScript<number>(options.redis, activeScript, [redisKey(key)], ['']))
    },
    async close() {
      timeout.close()
      leases.clear()
    },
  }
}
