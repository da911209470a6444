import type { Clock, Logger, RedisClient } from '@headroom/core'

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
