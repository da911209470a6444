import type { RequestHandler } from 'express'
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** A named stats() source; async ones (the queue) are awaited at scrape time. */
export type StatsSource = () => unknown

/**
 * `/metrics` in Prometheus text format: process metrics, an HTTP latency histogram,
 * and every Headroom component's `stats()` flattened into one gauge family,
 * `headroom_stat{component="cache",stat="l1.hits"}`. Flattening at scrape time means
 * a new counter in a package shows up without touching this file.
 */
export interface AppMetrics {
  readonly registry: Registry
  /** Times each request into the histogram. */
  observe: RequestHandler
  /** Serves `/metrics`. */
  handler: RequestHandler
}

export function createMetrics(sources: Record<string, StatsSource>): AppMetrics {
  const registry = new Registry()
  registry.setDefaultLabels({ app: 'corp-astro', pid: String(process.pid) })
  collectDefaultMetrics({ register: registry })

  const http = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status class',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  })

  new Gauge({
    name: 'headroom_stat',
    help: 'Numeric fields of each Headroom component stats() (counters and gauges alike)',
    labelNames: ['component', 'stat'] as const,
    registers: [registry],
    async collect() {
      this.reset()
      for (const [component, source] of Object.entries(sources)) {
        try {
          const value = await source()
          flatten(value, '', (stat, n) => this.set({ component, stat }, n))
        } catch {
          // A component that cannot answer (Redis down) is skipped, never fails the scrape.
        }
      }
    },
  })

  const observe: RequestHandler = (req, res, next) => {
    const end = http.startTimer()
    res.once('finish', () => {
      // The route pattern, not the URL: ids in URLs would make the label set unbounded.
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched'
      end({ method: req.method, route, status: `${Math.floor(res.statusCode / 100)}xx` })
    })
    next()
  }

  const handler: RequestHandler = async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics())
  }

  return { registry, observe, handler }
}

const MAX_DEPTH = 5

function flatten(value: unknown, path: string, emit: (stat: string, n: number) => void, depth = 0): void {
  if (depth > MAX_DEPTH) return
  if (typeof value === 'number') {
    if (Number.isFinite(value)) emit(path, value)
    return
  }
  if (typeof value === 'boolean') {
    emit(path, value ? 1 : 0)
    return
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return
  for (const [key, child] of Object.entries(value))
    flatten(child, path ? `${path}.${key}` : key, emit, depth + 1)
}
