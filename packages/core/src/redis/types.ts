import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis'

/** A standalone ioredis client or a Cluster client: every Redis-backed component takes either. */
export type RedisClient = Redis | Cluster

export type { Cluster, ClusterOptions, Redis, RedisOptions }

/** True for an ioredis `Cluster`. */
export function isCluster(client: RedisClient): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true
}
