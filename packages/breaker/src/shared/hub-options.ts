import {
  type Clock,
  type Logger,
  type OptionsSchemaMatch,
  type RedisClient,
  systemClock,
} from '@headroom/core'
import { z } from 'zod'

/** Options of {@link createBreakerHub}. */
export interface BreakerHubOptions {
  /** The client that runs the scripts (standalone or Cluster). The hub never closes it. */
  redis: RedisClient
  /** Key and channel prefix: breakers share state when prefix and name match. @default 'headroom:breaker' */
  prefix?: string
  /**
   * A client the hub may put in subscriber mode. @default redis.duplicate(), owned
   * (and closed) by the hub
   */
  subscriber?: RedisClient
  /**
   * Timeout of each Redis command, in ms. No call ever waits on Redis (state changes
   * are written in the background), so this only bounds how soon a dead Redis is
   * noticed. @default 500
   */
  commandTimeoutMs?: number
  /** @default systemClock */
  clock?: Clock
  /** @default silent */
  logger?: Logger
}

const client = (what: string) =>
  z.custom<RedisClient>(
    (v) => typeof (v as RedisClient | undefined)?.evalsha === 'function',
    `Expected ${what}`,
  )

export const hubOptionsSchema = z.object({
  redis: client('an ioredis client'),
  prefix: z.string().min(1).default('headroom:breaker'),
  subscriber: client('an ioredis client').optional(),
  commandTimeoutMs: z.number().positive().max(2_147_483_647).default(500),
  clock: z
    .custom<Clock>((v) => typeof (v as Clock | undefined)?.now === 'function', 'Expected a Clock')
    .default(systemClock),
  logger: z.custom<Logger>((v) => typeof v === 'object' && v !== null, 'Expected a logger').optional(),
})
true satisfies OptionsSchemaMatch<typeof hubOptionsSchema, BreakerHubOptions>
