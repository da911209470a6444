import type { LatencySummary } from '@headroom/core'
import type { HealthStats } from '../monitor/types.js'
import { STATUSES } from '../status/status.js'

/** One exported value. `suffix` is appended to the family name (`_sum`, `_count` of a summary). */
export interface MetricSample {
  labels?: Readonly<Record<string, string>>
  value: number
  suffix?: string
}

/** A Prometheus metric family: what prom-client's collectors or the text format need. */
export interface MetricFamily {
  name: string
  help: string
  type: 'gauge' | 'counter' | 'summary'
  samples: MetricSample[]
}

const QUANTILES = [
  ['0.5', 'p50'],
  ['0.9', 'p90'],
  ['0.99', 'p99'],
] as const

/** A latency summary in seconds (Prometheus' base unit). */
function summary(latency: LatencySummary, labels: Record<string, string> = {}): MetricSample[] {
  return [
    ...QUANTILES.map(([quantile, key]) => ({ labels: { ...labels, quantile }, value: latency[key] / 1000 })),
    { labels, value: (latency.mean * latency.count) / 1000, suffix: '_sum' },
    { labels, value: latency.count, suffix: '_count' },
  ]
}

/**
 * Turns `monitor.stats()` into Prometheus metric families (base units: seconds,
 * bytes, ratios), ready for `formatPrometheus` or prom-client collectors.
 *
 * @example
 * app.get('/metrics', (req, res) => {
 *   res.type('text/plain; version=0.0.4').send(formatPrometheus(toMetricFamilies(monitor.stats())))
 * })
 */
export function toMetricFamilies(stats: HealthStats, prefix = 'headroom_health'): MetricFamily[] {
  const families: MetricFamily[] = []
  const add = (name: string, help: string, type: MetricFamily['type'], samples: MetricSample[]) => {
    if (samples.length > 0) families.push({ name: `${prefix}_${name}`, help, type, samples })
  }
  const gauge = (name: string, help: string, value: number | undefined) =>
    add(name, help, 'gauge', value === undefined || !Number.isFinite(value) ? [] : [{ value }])

  add(
    'status',
    'Current health status (1 for the current one).',
    'gauge',
    STATUSES.map((status) => ({ labels: { status }, value: stats.status === status ? 1 : 0 })),
  )
  gauge('ready', 'Whether the process is ready for traffic.', stats.ready ? 1 : 0)
  add('status_changes_total', 'Status changes since start.', 'counter', [{ value: stats.statusChanges }])
  const sample = stats.process
  gauge('cpu_ratio', 'Process CPU time over wall time in the last sample (1 = one core).', sample?.cpu)
  gauge('rss_bytes', 'Resident set size.', sample?.rss)
  gauge('heap_used_bytes', 'V8 heap in use.', sample?.heapUsed)
  gauge('heap_total_bytes', 'V8 heap reserved.', sample?.heapTotal)
  gauge('heap_used_ratio', "V8 heap in use over V8's heap limit.", sample?.heapUsedRatio)
  gauge(
    'event_loop_delay_p99_seconds',
    'Event-loop delay p99 over the last sample interval.',
    sample ? sample.eventLoopDelay / 1000 : undefined,
  )
  gauge(
    'event_loop_delay_max_seconds',
    'Largest event-loop delay over the last sample interval.',
    sample ? sample.eventLoopDelayMax / 1000 : undefined,
  )
  gauge(
    'event_loop_utilization_ratio',
    'Event-loop utilization over the last sample interval.',
    sample?.eventLoopUtilization,
  )
  gauge('request_rate', 'Requests per second over the last sample interval.', sample?.requestRate)
  add('requests_total', 'Requests recorded since start.', 'counter', [{ value: stats.requests.total }])
  add('request_errors_total', 'Failed requests recorded since start.', 'counter', [
    { value: stats.requests.errors },
  ])
  add(
    'request_dependency_failures_total',
    'Requests refused because a dependency was unavailable, since start.',
    'counter',
    [{ value: stats.requests.dependencyFailures }],
  )
  add('request_duration_seconds', 'Request duration since start.', 'summary', summary(stats.requests.latency))
  const queries = Object.values(stats.queries)
  add(
    'query_duration_seconds',
    'Database query duration since start.',
    'summary',
    queries.flatMap((query) => summary(query.latency, { op: query.op, model: query.model })),
  )
  add(
    'query_errors_total',
    'Failed database queries since start.',
    'counter',
    queries.map((query) => ({ labels: { op: query.op, model: query.model }, value: query.errors })),
  )
  add(
    'timing_duration_seconds',
    'Named timings since start.',
    'summary',
    Object.entries(stats.timings).flatMap(([name, latency]) => summary(latency, { name })),
  )
  add(
    'check_up',
    'Whether a dependency check passed its last run.',
    'gauge',
    stats.checks.map((check) => ({ labels: { check: check.name }, value: check.status === 'pass' ? 1 : 0 })),
  )
  add(
    'check_duration_seconds',
    'Duration of the last run of a dependency check.',
    'gauge',
    stats.checks.map((check) => ({ labels: { check: check.name }, value: check.durationMs / 1000 })),
  )
  add(
    'input_status',
    'External inputs (1 for the status each one reports).',
    'gauge',
    stats.inputs.flatMap((input) =>
      STATUSES.map((status) => ({
        labels: { input: input.name, status },
        value: input.status === status ? 1 : 0,
      })),
    ),
  )
  add(
    'memory_pressure',
    'Memory pressure level (1 for the current one).',
    'gauge',
    (['none', 'moderate', 'critical'] as const).map((level) => ({
      labels: { level },
      value: stats.memoryPressure === level ? 1 : 0,
    })),
  )
  return families
}

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
const escapeHelp = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Number.POSITIVE_INFINITY) return '+Inf'
  if (value === Number.NEGATIVE_INFINITY) return '-Inf'
  return String(value)
}

/**
 * Renders metric families in the Prometheus text exposition format (0.0.4).
 *
 * @example
 * formatPrometheus(toMetricFamilies(monitor.stats()))
 */
export function formatPrometheus(families: readonly MetricFamily[]): string {
  const lines: string[] = []
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`)
    for (const sample of family.samples) {
      const entries = Object.entries(sample.labels ?? {})
      const labels =
        entries.length === 0
          ? ''
          : `{${entries.map(([key, value]) => `${key}="${escapeLabel(value)}"`).join(',')}}`
      lines.push(`${family.name}${sample.suffix ?? ''}${labels} ${formatNumber(sample.value)}`)
    }
  }
  return `${lines.join('\n')}\n`
}
