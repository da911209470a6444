import cluster from 'node:cluster'
import { randomUUID } from 'node:crypto'
import { registerBreakerMetrics } from '@headroom/breaker/prometheus'
import { registerCacheMetrics } from '@headroom/cache/prometheus'
import { registerHealthMetrics } from '@headroom/health/prometheus'
import { registerPoolMetrics } from '@headroom/pool/prometheus'
import { registerQueueMetrics } from '@headroom/queue/prometheus'
import { registerRateLimitMetrics } from '@headroom/rate-limit/prometheus'
import { registerShardMetrics } from '@headroom/shard/prometheus'
import type { RequestHandler } from 'express'
import { AggregatorRegistry, Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { AppContext } from '../context.js'

/**
 * `/metrics` in Prometheus text format: process metrics, an HTTP latency histogram, the
 * business counters ({@link BusinessMetrics}) and the collectors of each Headroom package
 * (`headroom_cache_*`, `headroom_rate_limit_*`, `headroom_queue_*`, `headroom_pool_*`,
 * `headroom_breaker_*`, `headroom_health_*`, `headroom_shard_*`).
 * In cluster mode any worker answers a scrape with every worker's metrics added up
 * (prom-client's AggregatorRegistry in the primary), so one scrape sees the whole app.
 */
export interface AppMetrics {
  readonly registry: Registry
  /** Times each request into the histogram. */
  observe: RequestHandler
  /** Serves `/metrics`. */
  handler: RequestHandler
}

/**
 * The business events the product follows, as Prometheus counters (summed across workers
 * like every counter of `/metrics`): `corp_astro_registrations_total`,
 * `corp_astro_content_views_total{kind}` and `corp_astro_report_requests_total{tier}`.
 * Created with the context, so the routes count; `/metrics` registers them.
 */
export interface BusinessMetrics {
  /** Accounts created. */
  registrations: Counter
  /** Content served (a cached answer or a 304 is a view too), by kind: `daily`, `item`. */
  contentViews: Counter<'kind'>
  /** Monthly reports accepted for generation, by the user's tier. */
  reportRequests: Counter<'tier'>
  /** Middleware: counts a content view of `kind` when its response succeeds (status < 400). */
  countView(kind: 'daily' | 'item'): RequestHandler
}

export function createBusinessMetrics(): BusinessMetrics {
  // registers: [] keeps them out of prom-client's global registry: each app's /metrics
  // registry takes them, so two apps in one process (the tests) do not collide.
  const registrations = new Counter({
    name: 'corp_astro_registrations_total',
    help: 'Accounts created',
    registers: [],
  })
  const contentViews = new Counter({
    name: 'corp_astro_content_views_total',
    help: 'Content served, by kind (daily, item)',
    labelNames: ['kind'] as const,
    registers: [],
  })
  const reportRequests = new Counter({
    name: 'corp_astro_report_requests_total',
    help: 'Monthly reports accepted for generation, by tier',
    labelNames: ['tier'] as const,
    registers: [],
  })
  return {
    registrations,
    contentViews,
    reportRequests,
    countView: (kind) => (_req, res, next) => {
      // Counted before the response cache, which may answer without reaching the handler.
      res.once('finish', () => {
        if (res.statusCode < 400) contentViews.inc({ kind })
      })
      next()
    },
  }
}

const REQUEST = 'headroom:metrics:request'
const RESPONSE = 'headroom:metrics:response'
/** Longer than prom-client's own 5 s wait for the workers, so its error arrives first. */
const SCRAPE_TIMEOUT_MS = 6_000

interface MetricsRequest {
  type: typeof REQUEST
  id: string
}
interface MetricsResponse {
  type: typeof RESPONSE
  id: string
  text?: string
  error?: string
}

export function createMetrics(ctx: AppContext): AppMetrics {
  const registry = new Registry()
  registry.setDefaultLabels({ app: 'corp-astro' })
  collectDefaultMetrics({ register: registry })

  const http = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status class',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  })
  registerComponents(registry, ctx)
  registry.registerMetric(ctx.business.registrations)
  registry.registerMetric(ctx.business.contentViews)
  registry.registerMetric(ctx.business.reportRequests)

  const observe: RequestHandler = (req, res, next) => {
    const end = http.startTimer()
    res.once('finish', () => {
      // The route pattern, not the URL: ids in URLs would make the label set unbounded.
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched'
      end({ method: req.method, route, status: `${Math.floor(res.statusCode / 100)}xx` })
    })
    next()
  }

  if (!cluster.isWorker) {
    const handler: RequestHandler = async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics())
    }
    return { registry, observe, handler }
  }

  // The primary asks every worker for this registry. prom-client answers those requests
  // once an AggregatorRegistry exists in the worker: constructing one adds its listener.
  new AggregatorRegistry()
  AggregatorRegistry.setRegistries([registry])
  // `/metrics?worker=self`: this worker alone, with its pid (per-worker heap in the soak run).
  const self = new Registry()
  new Gauge({
    name: 'corp_astro_worker_info',
    help: 'This worker',
    labelNames: ['pid'],
    registers: [self],
  }).set({ pid: String(process.pid) }, 1)
  const handler: RequestHandler = async (req, res) => {
    if (req.query.worker === 'self') {
      res.type(registry.contentType).send(await Registry.merge([registry, self]).metrics())
      return
    }
    try {
      res.type(registry.contentType).send(await askPrimary())
    } catch (error) {
      res
        .status(503)
        .type('text/plain')
        .send(`metrics unavailable: ${(error as Error).message}\n`)
    }
  }
  return { registry, observe, handler }
}

/** The Headroom components of this process, each under the name the dashboards use. */
function registerComponents(registry: Registry, ctx: AppContext): void {
  // Components switched off (HEADROOM=off) answer stats() with null: they are left out.
  if (ctx.cache.stats()) registerCacheMetrics(registry, { astro: { stats: () => ctx.cache.stats()! } })
  const limiters = Object.keys(ctx.limits.stats())
  registerRateLimitMetrics(
    registry,
    Object.fromEntries(limiters.map((name) => [name, { stats: () => ctx.limits.stats()[name]! }])),
  )
  registerQueueMetrics(registry, { jobs: { stats: async () => (await ctx.jobs.stats()).queue } })
  registerBreakerMetrics(registry, { astro: ctx.astro })
  const pools = ctx.pools.stats()
  registerPoolMetrics(registry, {
    sizers: Object.fromEntries(
      Object.keys(pools.sizers).map((name) => [name, { stats: () => ctx.pools.stats().sizers[name]! }]),
    ),
    ...(pools.limiter ? { limiters: { api: { stats: () => ctx.pools.stats().limiter! } } } : {}),
  })
  registerHealthMetrics(registry, ctx.health.monitor)
  // ctx.shards reads the router in use now: a topology change replaces the router.
  registerShardMetrics(registry, { routers: { users: ctx.shards } })
  registerShardMoveMetrics(registry, ctx)
}

/**
 * The latest online shard move, read from the main database at scrape time: batches of
 * logical shards per state and rows copied so far (one value for the whole app, so the
 * cluster aggregation keeps the maximum rather than a sum over workers), and the topology
 * version this process routes by (the minimum over workers: the laggard).
 */
function registerShardMoveMetrics(registry: Registry, ctx: AppContext): void {
  const topology = ctx.topology
  if (!topology) return
  const states = ['pending', 'copying', 'catching-up', 'cutting-over', 'done', 'cleaned'] as const
  let pending: Promise<Awaited<ReturnType<typeof topology.moveStatus>>> | undefined
  // One query per scrape for both gauges.
  const status = () => {
    pending ??= topology.moveStatus().finally(() => {
      setTimeout(() => {
        pending = undefined
      }, 100).unref()
    })
    return pending
  }
  new Gauge({
    name: 'corp_astro_shard_move_batches',
    help: 'Batches of logical shards of the latest shard move, per state',
    labelNames: ['state'] as const,
    registers: [registry],
    aggregator: 'max',
    async collect() {
      const { batches } = await status().catch(() => ({ batches: {} as Record<string, number> }))
      for (const state of states) this.set({ state }, batches[state] ?? 0)
    },
  })
  new Gauge({
    name: 'corp_astro_shard_move_rows_copied',
    help: 'Rows of the latest shard move copied to their new database',
    registers: [registry],
    aggregator: 'max',
    async collect() {
      const { rowsCopied } = await status().catch(() => ({ rowsCopied: 0 }))
      this.set(rowsCopied)
    },
  })
  new Gauge({
    name: 'corp_astro_shard_topology_version',
    help: 'Committed shard topology version this process routes by',
    registers: [registry],
    aggregator: 'min',
    collect() {
      this.set(topology.version())
    },
  })
}

/** Sends a scrape request to the primary and waits for the aggregated text. */
function askPrimary(): Promise<string> {
  const id = randomUUID()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error('the primary did not answer')), SCRAPE_TIMEOUT_MS)
    timer.unref()
    const onMessage = (message: unknown) => {
      const response = message as Partial<MetricsResponse> | null
      if (response?.type !== RESPONSE || response.id !== id) return
      finish(response.error === undefined ? undefined : new Error(response.error), response.text)
    }
    const finish = (error: Error | undefined, text?: string) => {
      clearTimeout(timer)
      process.off('message', onMessage)
      if (error) reject(error)
      else resolve(text ?? '')
    }
    process.on('message', onMessage)
    process.send?.({ type: REQUEST, id } satisfies MetricsRequest)
  })
}

/**
 * In the cluster primary: answers a worker's scrape with the metrics of every worker
 * added up (counters and histograms summed; each gauge by its own aggregator).
 */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry()
  cluster.on('message', (worker, message: Partial<MetricsRequest> | null) => {
    if (message?.type !== REQUEST || typeof message.id !== 'string') return
    const id = message.id
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: RESPONSE, id, text } satisfies MetricsResponse),
      (error: Error) => worker.send({ type: RESPONSE, id, error: error.message } satisfies MetricsResponse),
    )
  })
}
