import type { Clock, Logger } from '@headroom/core'
import { parseOptions, systemClock, tiedTo } from '@headroom/core'
import { z } from 'zod'
import type { MemoryPressureOptions } from '../process/memory-pressure.js'
import { eventLoopResolutionSchema, type Sampler } from '../process/sampler.js'
import { timerMs } from '../shared/timer-ms.js'
import type { AlertSink } from '../status/change.js'
import type { ResolvedMetricAlertRule } from '../status/metric-alerts.js'
import {
  DEFAULT_THRESHOLDS,
  type MetricAlerts,
  type ResolvedThresholds,
  THRESHOLD_METRICS,
  type ThresholdMetric,
  type Thresholds,
} from '../status/thresholds.js'
import type { CheckDefinition, CheckFn, ResolvedCheckDefinition } from './checks.js'

/** Options of `createHealthMonitor`. */
export interface HealthMonitorOptions {
  /** Name in alerts and `/health` (`serviceId`). @default 'service' */
  service?: string
  /** Time between two process samples (and status evaluations), ms. @default 1000 */
  sampleIntervalMs?: number
  /** Period of the event-loop delay probe, ms. @default 20 */
  eventLoopResolutionMs?: number
  /**
   * Enter/exit levels by metric, merged band by band over the defaults: event-loop
   * delay p99 (ms) 100/50 degraded and 500/200 critical; event-loop utilization
   * 0.9/0.75 and 0.98/0.9; heap used against V8's limit 0.85/0.75 and 0.95/0.9.
   * `errorRate` (0..1), `cpu` (cores), `rss` (bytes) and `latencyP99` (ms) have none.
   * `false` switches a metric off.
   * @default the defaults above
   */
  thresholds?: Thresholds
  /**
   * A worse status is adopted once it has held this long, ms: at the default sample
   * interval, three samples in a row, so one slow sample (a GC pause, a start-up
   * compile) changes nothing. External inputs (`reportInput`) skip it.
   * @default 2000
   */
  enterDwellMs?: number
  /** A better status is adopted once it has held this long, ms. @default 10000 */
  exitDwellMs?: number
  /** Requests a sample window needs before its error rate and latency count. @default 20 */
  minRequests?: number
  /**
   * Checks by name: a function, or a definition with its own settings. A check is a
   * dependency (reported, never gating readiness) unless declared `critical: true`.
   * @default {}
   */
  checks?: Record<string, CheckFn | CheckDefinition>
  /** Time after which a check counts as failed, ms. @default 2000 */
  checkTimeoutMs?: number
  /** Time between two runs of a check, ms. @default 10000 */
  checkIntervalMs?: number
  /** Points kept per recorded series (requests, queries, each timing). @default 10000 */
  historySize?: number
  /** Samples kept per sampled series (cpu, rss, ...): an hour at the default interval. @default 3600 */
  sampleHistorySize?: number
  /** Distinct timing names and query (op, model) pairs tracked; more are counted and dropped. @default 100 */
  maxSeries?: number
  /** When to emit `memoryPressure`, or `false` for never. @default {} (the defaults of MemoryPressureOptions) */
  memoryPressure?: MemoryPressureOptions | false
  /** Sinks that receive every status change and metric alert (e.g. `createWebhookSink`). @default [] */
  alerts?: AlertSink[]
  /**
   * Alerts by metric, apart from the status: each metric listed gets its own bands
   * (entered at `enter`, left below `exit`) and dwell, and each crossing and each
   * recovery is announced on its own (`alert` event, the `alerts` sinks, with
   * `metric` set), whatever the overall status does. A window without enough requests
   * (`minRequests`) holds the error-rate and latency alerts where they are. Units as in
   * `thresholds`: `cpu` in cores, shares 0..1, latency in ms.
   * @default {} (no metric alerts)
   * @example { cpu: { degraded: { enter: 0.8, exit: 0.7 } }, errorRate: { degraded: { enter: 0.05, exit: 0.02 } } }
   */
  metricAlerts?: MetricAlerts
  /** @default silent */
  logger?: Logger
  /** @default systemClock */
  clock?: Clock
  /** Replaces the process readings (custom runtimes, scripted tests); the monitor does not close it. @default createProcessSampler() */
  sampler?: Sampler
}

const checkFn = z.custom<CheckFn>((v) => typeof v === 'function', 'Expected a check function')
const object = <T>(what: string) =>
  z.custom<T>((v) => typeof v === 'object' && v !== null, `Expected ${what}`)

/** Metrics that are shares (0..1): a level above 1 could never be entered. */
const RATIO_METRICS: ReadonlySet<ThresholdMetric> = new Set([
  'heapUsedRatio',
  'eventLoopUtilization',
  'errorRate',
])

const bandFor = (metric: ThresholdMetric) => {
  const value = RATIO_METRICS.has(metric) ? z.number().min(0).max(1) : z.number().nonnegative()
  return z
    .strictObject({ enter: value, exit: value })
    .refine((b) => b.exit <= b.enter, 'Expected exit <= enter (exit is where the level is left)')
}

const consistentLevels = (l: { degraded?: { enter: number }; critical?: { enter: number } }) =>
  !l.degraded || !l.critical || l.critical.enter >= l.degraded.enter

const levelsFor = (metric: ThresholdMetric) => {
  const band = bandFor(metric)
  return z
    .strictObject({ degraded: band.optional(), critical: band.optional() })
    .refine(consistentLevels, 'Expected critical.enter >= degraded.enter')
}

const alertRuleFor = (metric: ThresholdMetric) => {
  const band = bandFor(metric)
  return z
    .strictObject({
      degraded: band.optional(),
      critical: band.optional(),
      enterDwellMs: timerMs().optional(),
      exitDwellMs: timerMs().optional(),
    })
    .refine(
      (l) => l.degraded !== undefined || l.critical !== undefined,
      'Expected a degraded or critical band',
    )
    .refine(consistentLevels, 'Expected critical.enter >= degraded.enter')
}

const metricAlertsShape = Object.fromEntries(
  THRESHOLD_METRICS.map((metric) => [metric, alertRuleFor(metric).optional()]),
) as Record<ThresholdMetric, z.ZodOptional<ReturnType<typeof alertRuleFor>>>
type Levels = ReturnType<typeof levelsFor>

const levelsByMetric = Object.fromEntries(
  THRESHOLD_METRICS.map((metric) => [metric, levelsFor(metric)]),
) as Record<ThresholdMetric, Levels>

const thresholdsShape = Object.fromEntries(
  THRESHOLD_METRICS.map((metric) => [metric, z.union([levelsByMetric[metric], z.literal(false)]).optional()]),
) as Record<ThresholdMetric, z.ZodOptional<z.ZodUnion<[Levels, z.ZodLiteral<false>]>>>

// timeoutMs and intervalMs default to the monitor's checkTimeoutMs and checkIntervalMs,
// which the schema's transform fills in.
const checkDefinition = z.strictObject({
  check: checkFn,
  timeoutMs: timerMs(1).optional(),
  intervalMs: timerMs(1).optional(),
  critical: z.boolean().default(false),
  status: z.enum(['healthy', 'degraded', 'critical']).default('healthy'),
  componentType: z.string().default('component'),
})

const ratio = z.number().positive().max(1)

const memoryPressureSchema = z.strictObject({
  moderate: ratio.default(0.8),
  critical: ratio.default(0.92),
  hysteresis: z.number().nonnegative().max(1).default(0.05),
  moderateFraction: ratio.default(0.2),
  criticalFraction: ratio.default(0.5),
  repeatMs: timerMs().default(10_000),
  maxRssBytes: z.number().int().positive().optional(),
  memoryLimitBytes: z.number().int().positive().optional(),
})

const schema = tiedTo<HealthMonitorOptions>()(
  z
    .strictObject({
      service: z.string().min(1).default('service'),
      sampleIntervalMs: timerMs(10).default(1000),
      eventLoopResolutionMs: eventLoopResolutionSchema,
      thresholds: z.strictObject(thresholdsShape).default({}),
      enterDwellMs: timerMs().default(2000),
      exitDwellMs: timerMs().default(10_000),
      minRequests: z.number().int().nonnegative().default(20),
      // A bare function is a definition with only `check`: one object schema, so an error
      // names the field at fault rather than "invalid input" for the whole check.
      checks: z
        .record(
          z.string().min(1),
          z.preprocess((value) => (typeof value === 'function' ? { check: value } : value), checkDefinition),
        )
        .default({}),
      checkTimeoutMs: timerMs(1).default(2000),
      checkIntervalMs: timerMs(1).default(10_000),
      historySize: z.number().int().min(1).max(10_000_000).default(10_000),
      sampleHistorySize: z.number().int().min(1).max(10_000_000).default(3600),
      maxSeries: z.number().int().min(1).default(100),
      // Absent, it is `{}` parsed by memoryPressureSchema: its own defaults, written once.
      memoryPressure: z
        .union([z.literal(false), memoryPressureSchema])
        .prefault({})
        .refine((m) => m === false || m.critical >= m.moderate, 'Expected critical >= moderate'),
      alerts: z.array(object<AlertSink>('an alert sink ({ send, close })')).default([]),
      metricAlerts: z.strictObject(metricAlertsShape).default({}),
      logger: object<Logger>('a pino-compatible logger').optional(),
      clock: object<Clock>('a Clock').default(() => systemClock),
      sampler: object<Sampler>('a sampler ({ read, close })').optional(),
    })
    // A check or an alert rule without its own timing takes the monitor's.
    .transform(({ checks, metricAlerts, ...rest }) => {
      const fullChecks: Record<string, ResolvedCheckDefinition> = {}
      for (const [name, definition] of Object.entries(checks))
        fullChecks[name] = {
          ...definition,
          timeoutMs: definition.timeoutMs ?? rest.checkTimeoutMs,
          intervalMs: definition.intervalMs ?? rest.checkIntervalMs,
        }
      const rules: Partial<Record<ThresholdMetric, ResolvedMetricAlertRule>> = {}
      for (const metric of THRESHOLD_METRICS) {
        const rule = metricAlerts[metric]
        if (rule)
          rules[metric] = {
            ...rule,
            enterDwellMs: rule.enterDwellMs ?? rest.enterDwellMs,
            exitDwellMs: rule.exitDwellMs ?? rest.exitDwellMs,
          }
      }
      return { ...rest, checks: fullChecks, metricAlerts: rules }
    }),
)

export type ResolvedOptions = Omit<z.output<typeof schema>, 'thresholds'> & {
  thresholds: ResolvedThresholds
}

/**
 * zod reports a value that fits no branch of a union ("levels or false") at the union's
 * own path; parsing the object branch alone first makes the error name the field at fault.
 */
function parseObjectBranch(input: HealthMonitorOptions): void {
  const given: Record<string, unknown> = { ...input }
  const thresholds = given.thresholds
  if (typeof thresholds === 'object' && thresholds !== null)
    for (const metric of THRESHOLD_METRICS) {
      const value = (thresholds as Record<string, unknown>)[metric]
      if (typeof value !== 'object' || value === null) continue
      parseOptions(
        'createHealthMonitor',
        z.object({ thresholds: z.object({ [metric]: levelsByMetric[metric] }) }),
        {
          thresholds: { [metric]: value },
        },
      )
    }
  const pressure = given.memoryPressure
  if (typeof pressure === 'object' && pressure !== null)
    parseOptions('createHealthMonitor', z.object({ memoryPressure: memoryPressureSchema }), {
      memoryPressure: pressure,
    })
}

/** Validates once, at construction, and merges the thresholds band by band over the defaults. */
export function resolveOptions(input: HealthMonitorOptions): ResolvedOptions {
  if (typeof input === 'object' && input !== null) parseObjectBranch(input)
  const options = parseOptions('createHealthMonitor', schema, input)
  const thresholds = {} as ResolvedThresholds
  for (const metric of THRESHOLD_METRICS) {
    const given = options.thresholds[metric]
    const fallback = DEFAULT_THRESHOLDS[metric]
    thresholds[metric] =
      given === false ? false : given === undefined ? fallback : { ...(fallback || {}), ...given }
  }
  // A band overriding only one level must still be consistent with the default it keeps.
  parseOptions('createHealthMonitor', z.object({ thresholds: z.object(thresholdsShape) }), { thresholds })
  return { ...options, thresholds }
}
