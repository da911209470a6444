import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis'

/** A standalone ioredis client or a Cluster client: every Redis-backed component takes either. */
export type RedisClient = Redis | Cluster

export type { Cluster, ClusterOptions, Redis, RedisOptions }

/** Connection states in which a command would wait in ioredis' offline queue for a reconnect. */
const DOWN_STATES: ReadonlySet<string> = new Set(['reconnecting', 'close', 'end', 'disconnecting'])

/**
 * True while the client has lost its connection and not got it back. A command issued
 * now waits in the offline queue, and is still sent once the connection returns, even
 * after a command timeout told its caller it failed: callers with a deadline fail fast
 * instead. (Start-up, `wait` and `connecting`, is not down: commands then wait as designed.)
 */
export function isRedisDown(client: RedisClient): boolean {
  return DOWN_STATES.has(client.status)
}

/** True for an ioredis `Cluster`. */
export function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true
}
