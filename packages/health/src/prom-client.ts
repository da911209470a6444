// prom-client collectors for a health monitor (the `./prometheus` subpath). Values are
// read from `monitor.stats()` when Prometheus scrapes (prom-client `collect()`).
import diagnosticsChannel from 'node:diagnostics_channel'
import { channelName } from '@headroom/core'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { HealthStats } from './monitor/types.js'
import type { Priority } from './shedding/load-shedder.js'
import type { HealthStatus } from './status/status.js'

/** The channel every `shedLoad` adapter (http, Express, Fastify, fetch) publishes a refusal on. */
const SHED_CHANNEL = channelName('health', 'shed')

/** `headroom_health_status`: 0 healthy, 1 degraded, 2 critical (higher is worse). */
export const HEALTH_STATUS_VALUE = { healthy: 0, degraded: 1, critical: 2 } as const

/**
 * Registers the health metrics (`headroom_health_*`) of one monitor in `registry`.
 * `headroom_health_shed_total` counts the requests every `shedLoad` in the process
 * refuses from registration on, by `reason` (the status that shed it) and `priority`.
 * Returns a function that removes them again.
 *
 * @example
 * import { Registry } from 'prom-client'
 * import { createHealthMonitor } from '@headroom/health'
 * import { registerHealthMetrics } from '@headroom/health/prometheus'
 *
 * const registry = new Registry()
 * const monitor = createHealthMonitor({ service: 'api' })
 * registerHealthMetrics(registry, monitor)
 * monitor.sample()
 * console.log(await registry.metrics())
 * monitor.close()
 */
export function registerHealthMetrics(registry: Registry, monitor: { stats(): HealthStats }): () => void {
  const before = new Set(registry.getMetricsAsArray().map((metric) => metric.name))
  const gauge = (
    name: string,
    help: string,
    value: (stats: HealthStats) => number,
    aggregator: 'sum' | 'max',
  ) =>
    new Gauge({
      name,
      help,
      aggregator,
      registers: [registry],
      collect() {
        this.set(value(monitor.stats()))
      },
    })
  const counter = (name: string, help: string, value: (stats: HealthStats) => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset()
        this.inc(value(monitor.stats()))
      },
    })

  // Across cluster workers a level takes the worst worker; counts add up.
  gauge(
    'headroom_health_status',
    'Status: 0 healthy, 1 degraded, 2 critical',
    (s) => HEALTH_STATUS_VALUE[s.status],
    'max',
  )
  gauge(
    'headroom_health_ready',
    '1 when ready for traffic (not draining, readiness checks pass)',
    (s) => (s.ready ? 1 : 0),
    'sum',
  )
  gauge('headroom_health_draining', '1 while draining for shutdown', (s) => (s.draining ? 1 : 0), 'sum')
  gauge(
    'headroom_health_event_loop_delay_seconds',
    'Event-loop delay p99 over the last sample window',
    (s) => (s.process?.eventLoopDelay ?? 0) / 1000,
    'max',
  )
  gauge(
    'headroom_health_event_loop_utilization_ratio',
    'Share of wall time the event loop was busy over the last sample window (0..1)',
    (s) => s.process?.eventLoopUtilization ?? 0,
    'max',
  )
  counter('headroom_health_requests_total', 'Requests recorded by the monitor', (s) => s.requests.total)
  counter(
    'headroom_health_request_errors_total',
    'Failed requests recorded by the monitor',
    (s) => s.requests.errors,
  )
  counter('headroom_health_status_changes_total', 'Status changes', (s) => s.statusChanges)
  new Gauge({
    name: 'headroom_health_check_up',
    help: 'Last result of each dependency check: 1 pass, 0 otherwise',
    labelNames: ['check'],
    aggregator: 'min',
    registers: [registry],
    collect() {
      this.reset()
      for (const check of monitor.stats().checks)
        this.set({ check: check.name }, check.status === 'pass' ? 1 : 0)
    },
  })
  // Sheds are counted as they happen, from the channel the shedLoad adapters share: the
  // counts live in each middleware, which the monitor does not know about.
  const shed = new Counter({
    name: 'headroom_health_shed_total',
    help: 'Requests refused by shedLoad, by the status that shed them (reason) and priority',
    labelNames: ['reason', 'priority'],
    registers: [registry],
  })
  // Every pair a policy can shed starts at 0, so rate() and dashboards see the series
  // before the first shed (critical-priority work is never shed).
  for (const reason of ['degraded', 'critical'] as const)
    for (const priority of ['high', 'medium', 'low'] as const) shed.inc({ reason, priority }, 0)
  const onShed = (message: unknown) => {
    const { status, priority } = message as { status: HealthStatus; priority: Priority }
    shed.inc({ reason: status, priority })
  }
  diagnosticsChannel.subscribe(SHED_CHANNEL, onShed)

  const added = registry.getMetricsAsArray().filter((metric) => !before.has(metric.name))
  return () => {
    diagnosticsChannel.unsubscribe(SHED_CHANNEL, onShed)
    for (const metric of added) registry.removeSingleMetric(metric.name)
  }
}
