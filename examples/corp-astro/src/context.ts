import type { RedisClient } from '@headroom/core'
import { type AnalyticsBuffer, createAnalyticsBuffer } from './analytics/buffer.js'
import { type AstroService, startAstroService } from './astro/service.js'
import { createRefreshTokenStore, type RefreshTokenStore } from './auth/refresh-tokens.js'
import { createTokenService, type TokenService } from './auth/tokens.js'
import type { Config } from './config.js'
import { type ContentRepository, createContentRepository } from './content/repository.js'
import { loadTemplates, type TemplateStore } from './content/templates.js'
import type { Databases } from './db/database.js'
import { migrate } from './db/migrate.js'
import { openPglite } from './db/pglite.js'
import { openPostgres } from './db/postgres.js'
import { seed } from './db/seed.js'
import { jobHandlers } from './jobs/handlers.js'
import type { AppLogger } from './logger.js'
import { type AstroGateway, createAstroGateway } from './platform/breaker.js'
import { type AppCache, createAppCache } from './platform/cache.js'
import { type AppHealth, createAppHealth } from './platform/health.js'
import { type AppJobs, createAppJobs } from './platform/jobs.js'
import { type BusinessMetrics, createBusinessMetrics } from './platform/metrics.js'
import { type AppPools, createAppPools } from './platform/pools.js'
import { type AppLimits, createAppLimits } from './platform/rate-limit.js'
import { closeRedis, connectRedis } from './platform/redis.js'
import { createShards, type Shards } from './platform/shards.js'
import { type AppTopology, startTopology } from './platform/topology.js'
import { createProfileRepository, type ProfileRepository } from './profiles/repository.js'
import { startReportNotifier } from './reports/notifier.js'
import { createReportRepository, type ReportRepository } from './reports/repository.js'
import { createUserRepository, type UserRepository } from './users/repository.js'

/** Everything a request handler or a job may use, built once per process. */
export interface AppContext {
  config: Config
  logger: AppLogger
  redis: RedisClient | undefined
  databases: Databases
  shards: Shards
  /** The committed shard topology this process follows (one database per shard only). */
  topology: AppTopology | undefined
  pools: AppPools
  tokens: TokenService
  users: UserRepository
  refreshTokens: RefreshTokenStore
  profiles: ProfileRepository
  content: ContentRepository
  reports: ReportRepository
  templates: TemplateStore
  cache: AppCache
  limits: AppLimits
  jobs: AppJobs
  astro: AstroGateway
  analytics: AnalyticsBuffer
  health: AppHealth
  /** Business counters (registrations, content views, report requests) for `/metrics`. */
  business: BusinessMetrics
  /** Releases everything, in dependency order. */
  close(): Promise<void>
}

export interface ContextOptions {
  /** Run migrations (and the seed when configured): false in cluster workers, the primary did it. */
  migrate?: boolean
}

/**
 * Builds the app's dependencies. On failure part-way, what was opened is closed again,
 * so a failed start leaves no pool or timer behind.
 *
 * @example
 * const ctx = await createContext(loadConfig(), logger)
 */
export async function createContext(
  config: Config,
  logger: AppLogger,
  options: ContextOptions = {},
): Promise<AppContext> {
  const cleanups: (() => Promise<void> | void)[] = []
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse()) {
      const started = Date.now()
      try {
        await cleanup()
        logger.debug(
          { ms: Date.now() - started, step: cleanup.name || String(cleanup).slice(6, 40) },
          'closed',
        )
      } catch (error) {
        logger.warn({ err: error }, 'error while closing')
      }
    }
    cleanups.length = 0
  }
  try {
    const redis = connectRedis(config.redis, logger)
    cleanups.push(() => closeRedis(redis))

    const pools = createAppPools({
      enabled: config.headroom,
      config: config.database,
      webConcurrency: config.webConcurrency,
      logger,
    })
    cleanups.push(() => pools.close())
    const databases =
      config.database.kind === 'pglite'
        ? await openPglite(config.database)
        : openPostgres({ ...config.database, onPool: pools.manage })
    cleanups.push(() => databases.close())
    const db = pools.wrap(databases)

    if (options.migrate !== false) {
      const applied = await migrate(db)
      if (applied.length > 0) logger.info({ applied }, 'migrations applied')
    }

    const shards = createShards(db.shards, { measureLag: true })
    cleanups.push(() => shards.close())
    const topology = await startTopology({
      config,
      databases: db,
      shards,
      init: options.migrate !== false,
      logger,
    })
    if (topology) cleanups.push(() => topology.close())
    const templates = await loadTemplates(db.main)
    const users = createUserRepository(shards)
    if (options.migrate !== false && config.seed)
      await seed(users, createProfileRepository(shards), config, logger)

    let astroService: AstroService | undefined
    let astroUrl = config.astro.url
    if (!astroUrl) {
      // Dev: no ASTRO_URL, so the "external" service runs in this process.
      astroService = await startAstroService({
        faults: { failureRate: config.astro.failureRate, latencyMs: config.astro.latencyMs },
      })
      astroUrl = astroService.url
      logger.info({ url: astroUrl }, `astro service (embedded) listening on ${astroUrl}`)
      cleanups.push(() => astroService?.close())
    }
    const cache = createAppCache({ enabled: config.headroom, redis, prefix: config.redis.prefix, logger })
    const astro = createAstroGateway({
      cache,
      url: astroUrl,
      timeoutMs: config.astro.timeoutMs,
      redis,
      prefix: config.redis.prefix,
      logger,
    })
    cleanups.push(() => astro.close())

    const health = createAppHealth({ config, logger, databases: db, redis })
    cleanups.push(() => health.close())
    cleanups.push(() => cache.close())
    const limits = createAppLimits({
      redis,
      prefix: config.redis.prefix,
      instances: config.webConcurrency,
      logger,
    })
    cleanups.push(() => limits.close())
    const jobs = createAppJobs({
      redis,
      prefix: config.redis.prefix,
      logger,
      status: config.headroom ? () => health.status() : undefined,
    })
    cleanups.push(() => jobs.close())
    const analytics = createAnalyticsBuffer({
      flush: async (events) => {
        await jobs.add('analytics-batch', { events }, { priority: 'LOW' })
      },
      intervalMs: config.jobs.analyticsFlushMs,
      onError: (error) => logger.warn({ err: error }, 'analytics batch could not be queued'),
    })
    // Registered after jobs: closing runs in reverse, so the last batch is queued before the queue closes.
    cleanups.push(() => analytics.close())

    const ctx: AppContext = {
      config,
      logger,
      redis,
      databases: db,
      shards,
      topology,
      pools,
      tokens: createTokenService(config.auth),
      users,
      refreshTokens: createRefreshTokenStore(shards, config.auth.refreshTtlSeconds),
      profiles: createProfileRepository(shards),
      content: createContentRepository(shards),
      reports: createReportRepository(shards),
      templates,
      cache,
      limits,
      jobs,
      astro,
      analytics,
      health,
      business: createBusinessMetrics(),
      close: closeAll,
    }
    jobs.start(jobHandlers(ctx), { cleanupIntervalMs: config.jobs.cleanupIntervalMs })
    const notifier = await startReportNotifier({
      jobs,
      redis,
      prefix: config.redis.prefix,
      delayMs: config.jobs.notificationDelayMs,
      logger,
    })
    // Closed before the jobs (cleanups run in reverse).
    cleanups.push(() => notifier.close())
    return ctx
  } catch (error) {
    await closeAll()
    throw error
  }
}
