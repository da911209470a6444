import {
  type AdaptiveLimiter,
  createAdaptiveLimiter,
  createPoolSizer,
  type LimiterStats,
  type PoolSizer,
  type PoolSizerStats,
} from '@headroom/pool'
import type pg from 'pg'
import type { Config } from '../config.js'
import type { Database, Databases } from '../db/database.js'
import { type AppLogger, boundLogger } from '../logger.js'

export interface AppPools {
  /** Hands a new pg pool to an adaptive sizer (Headroom on) or leaves it static (off). */
  manage(name: string, pool: pg.Pool): void
  /** On PGlite, puts an adaptive concurrency limiter in front of the single connection. */
  wrap(databases: Databases): Databases
  stats(): { sizers: Record<string, PoolSizerStats>; limiter: LimiterStats | null }
  close(): void
}

/**
 * Adaptive database pools (`@headroom/pool`). On Postgres each pool is resized by a
 * Vegas sizer between PG_POOL_MIN and PG_POOL_MAX, bounded by this process's share of
 * `max_connections`. On PGlite, which runs one query at a time, a Gradient2 limiter
 * bounds how much work queues up, so an overload is refused quickly instead of
 * piling up latency.
 */
export function createAppPools(options: {
  enabled: boolean
  config: Config['database']
  webConcurrency?: number
  logger: AppLogger
}): AppPools {
  const sizers = new Map<string, PoolSizer>()
  const { config } = options
  const poolsPerProcess =
    config.kind === 'postgres'
      ? 1 + config.shardUrls.length + config.replicaUrls.reduce((sum, list) => sum + list.length, 0)
      : 0
  let limiter: AdaptiveLimiter | undefined

  return {
    manage(name, pool) {
      if (!options.enabled || config.kind !== 'postgres') return
      sizers.set(
        name,
        createPoolSizer({
          target: pool,
          name: `pg:${name}`,
          algorithm: 'vegas',
          min: config.poolMin,
          max: config.poolMax,
          // Every pool of every worker draws on the same server's max_connections.
          instances: Math.max(1, (options.webConcurrency ?? 1) * poolsPerProcess),
          reserved: 1,
          logger: boundLogger(options.logger),
        }),
      )
    },
    wrap(databases) {
      if (!options.enabled || databases.kind !== 'pglite') return databases
      const active = createAdaptiveLimiter({
        name: 'pglite',
        min: 1,
        max: 16,
        initial: 4,
        maxWaitMs: 2_000,
        maxQueue: 5_000,
        logger: boundLogger(options.logger),
      })
      limiter = active
      const limited = (db: Database): Database => ({
        ...db,
        query: (text, params) => active.run(() => db.query(text, params)),
      })
      return {
        ...databases,
        main: limited(databases.main),
        shards: databases.shards.map((shard) => ({
          ...shard,
          primary: limited(shard.primary),
          replicas: shard.replicas.map(limited),
        })),
      }
    },
    stats: () => ({
      sizers: Object.fromEntries([...sizers].map(([name, sizer]) => [name, sizer.stats()])),
      limiter: limiter?.stats() ?? null,
    }),
    close() {
      for (const sizer of sizers.values()) sizer.close()
      sizers.clear()
      limiter?.close()
    },
  }
}
