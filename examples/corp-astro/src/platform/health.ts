import type { RedisClient } from '@headroom/core'
import {
  createHealthMonitor,
  createWebhookSink,
  type HealthMonitor,
  type HealthStats,
  type HealthStatus,
  type MetricAlerts,
} from '@headroom/health'
import { healthRoutes, shedLoad, trackRequests } from '@headroom/health/http'
import type { Request, RequestHandler } from 'express'
import type { Config } from '../config.js'
import type { Databases } from '../db/database.js'
import { type AppLogger, boundLogger } from '../logger.js'

export interface AppHealth {
  readonly monitor: HealthMonitor
  status(): HealthStatus
  /** `/livez`, `/readyz`, `/health`. */
  probes: RequestHandler
  /** Records every request's duration and outcome. */
  track: RequestHandler
  /** Refuses low-priority requests first while degraded or critical (a pass-through when Headroom is off). */
  shed: RequestHandler
  /** Marks the process as draining: `/readyz` answers 503 so the balancer stops sending traffic. */
  drain(): void
  stats(): HealthStats & { shed: ReturnType<ReturnType<typeof shedLoad>['stats']> | null }
  close(): void
}

/**
 * Request priority for shedding: premium work and token refreshes are never shed;
 * basic users go when the service is critical; free and anonymous traffic goes first.
 */
export function priorityOf(req: Request): 'critical' | 'high' | 'low' {
  const tier = req.user?.tier
  if (tier === 'premium') return 'critical'
  if (req.path.startsWith('/auth/')) return 'high'
  return tier === 'basic' ? 'high' : 'low'
}

/**
 * The alert bands from the configuration: each is entered at its threshold and left
 * below a lower one (10 points under for CPU and memory, half the error rate, 70 % of
 * the response time), so a value hovering at the threshold alerts once.
 */
export function metricAlerts(config: Config): MetricAlerts {
  const { cpuPercent, memoryPercent, errorRatePercent, responseTimeMs } = config.alerts
  const band = (enter: number, exit: number) => ({ degraded: { enter, exit: Math.max(0, exit) } })
  return {
    cpu: band(cpuPercent / 100, (cpuPercent - 10) / 100),
    heapUsedRatio: band(memoryPercent / 100, (memoryPercent - 10) / 100),
    errorRate: band(errorRatePercent / 100, errorRatePercent / 200),
    latencyP99: band(responseTimeMs, responseTimeMs * 0.7),
  }
}

/**
 * `@headroom/health`: samples event-loop delay, heap and CPU every second, checks the
 * databases and Redis, and derives healthy / degraded / critical with hysteresis.
 */
export function createAppHealth(options: {
  config: Config
  logger: AppLogger
  databases: Databases
  redis: RedisClient | undefined
}): AppHealth {
  const { databases, redis } = options
  const all = [databases.main, ...databases.shards.map((shard) => shard.primary)]
  const logger = options.logger.child({ component: 'health' })
  const { alerts } = options.config
  const monitor = createHealthMonitor({
    // Alerts by metric (the ALERT_* variables): logged as they cross and recover, and
    // posted to ALERT_WEBHOOK_URL when set. They do not move the status: shedding follows
    // the event loop alone.
    metricAlerts: metricAlerts(options.config),
    alerts: alerts.webhookUrl
      ? [createWebhookSink({ url: alerts.webhookUrl, logger: boundLogger(options.logger) })]
      : [],
    service: 'corp-astro',
    sampleIntervalMs: 1_000,
    // The status acts on stalls that last seconds (the admission control in front of the
    // API reacts within milliseconds), so a 100 ms probe sees them all, and an idle worker
    // wakes 10 times a second for it rather than 50.
    eventLoopResolutionMs: 100,
    thresholds: {
      // A saturated but fast event loop is fine; latency is what users feel.
      eventLoopUtilization: false,
      eventLoopDelay: {
        degraded: {
          enter: options.config.shedEventLoopDelayMs,
          exit: options.config.shedEventLoopDelayMs / 2,
        },
        critical: {
          enter: options.config.shedEventLoopDelayMs * 3,
          exit: options.config.shedEventLoopDelayMs * 1.5,
        },
      },
    },
    // One stalled second (start-up, a GC pause) is not an overload: shed only when it lasts.
    enterDwellMs: 2_000,
    exitDwellMs: 5_000,
    checks: {
      // One check per database, so /health names the one that failed. A single database
      // down is a warning, not unreadiness: every instance shares the databases, so
      // draining this one would send its healthy users to instances no better off, and a
      // quarter outage would become a full one. Its users get 503 + Retry-After meanwhile.
      ...Object.fromEntries(
        all.map((db) => [
          `database:${db.name}`,
          {
            check: () => db.query('SELECT 1'),
            componentType: 'datastore',
          },
        ]),
      ),
      // Not one database answers: the fault is most likely this instance's own (its
      // network, its pools), which another instance would not share, so drain it.
      databases: {
        check: () => Promise.any(all.map((db) => db.query('SELECT 1'))),
        critical: true,
        status: 'healthy',
        componentType: 'datastore',
      },
      ...(redis
        ? {
            // Redis is optional: every component has a fallback, so its loss is reported, not fatal.
            redis: {
              check: () => redis.ping(),
              status: 'healthy',
              componentType: 'datastore',
            },
          }
        : {}),
    },
    checkIntervalMs: 5_000,
    checkTimeoutMs: 3_000,
    logger: boundLogger(options.logger),
  })
  const shed = options.config.headroom
    ? shedLoad({ monitor, priority: (req) => priorityOf(req as Request), retryAfterSeconds: 2 })
    : null
  // The cache sheds its L1 on memory pressure by itself (platform/cache.ts); this only logs it.
  monitor.on('memoryPressure', (event) => {
    logger.warn({ level: event.level, ratio: event.ratio, fraction: event.fraction }, 'memory pressure')
  })
  // The checks run on their interval; the first run starts now so /readyz is soon accurate.
  void monitor.runChecks().catch(() => {})

  return {
    monitor,
    status: () => monitor.status,
    probes: healthRoutes(monitor, { version: '1.0.0' }) as unknown as RequestHandler,
    // The problem handler marks its 503s for an unavailable dependency
    // (markDependencyFailure): they stay out of the error rate.
    track: trackRequests({ monitor }) as unknown as RequestHandler,
    shed: (shed ?? ((_req, _res, next) => next())) as RequestHandler,
    drain: () => monitor.setDraining(true),
    stats: () => ({ ...monitor.stats(), shed: shed?.stats() ?? null }),
    close: () => monitor.close(),
  }
}
