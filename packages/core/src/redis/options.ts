import type { ClusterOptions, RedisOptions } from './types.js'

/**
 * Exponential reconnect backoff with a 2 s ceiling: a restarted Redis is found
 * again within about 2 s, and a dead one is not hammered.
 */
export function reconnectBackoff(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 10), 2_000)
}

/**
 * The ioredis options Headroom recommends for clients on a request path:
 * - auto-pipelining, so concurrent commands share round trips;
 * - one retry per command, so a command is not replayed long after its caller gave up;
 * - the offline queue stays on (a command issued during start-up waits for the
 *   connection), while Headroom's own command timeout bounds every wait. A write whose
 *   caller must not see it land after a refusal is not issued while the connection is
 *   lost (`isRedisDown`): a queued command still runs after the reconnect.
 *
 * @example
 * const redis = new Redis(process.env.REDIS_URL, requestPathRedisOptions)
 */
export const requestPathRedisOptions: RedisOptions = {
  enableAutoPipelining: true,
  maxRetriesPerRequest: 1,
  enableOfflineQueue: true,
  connectTimeout: 2_000,
  retryStrategy: reconnectBackoff,
}

/** The Cluster counterpart of {@link requestPathRedisOptions}. */
export const requestPathClusterOptions: ClusterOptions = {
  enableAutoPipelining: true,
  enableOfflineQueue: true,
  maxRedirections: 16,
  retryDelayOnFailover: 100,
  retryDelayOnClusterDown: 100,
  slotsRefreshTimeout: 2_000,
  clusterRetryStrategy: reconnectBackoff,
  redisOptions: {
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
  },
}
