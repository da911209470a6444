import type { HealthStatus } from './status.js'

/** A level is entered when the value reaches `enter` and left only once it drops below `exit`. */
export interface Band {
  enter: number
  exit: number
}

/** The bands of one metric; a missing band is never entered. */
export interface ThresholdLevels {
  degraded?: Band
  critical?: Band
}

/** Metrics the status is computed from (each read once per sample). */
export type ThresholdMetric =
  | 'cpu'
  | 'rss'
  | 'heapUsedRatio'
  | 'eventLoopDelay'
  | 'eventLoopUtilization'
  | 'errorRate'
  | 'latencyP99'

/** Thresholds by metric; `false` switches a default off. */
export type Thresholds = Partial<Record<ThresholdMetric, ThresholdLevels | false>>

/**
 * An alert on one metric: its bands (hysteresis as in {@link ThresholdLevels}) and how
 * long a crossing or a recovery must hold before it is announced.
 */
export interface MetricAlertRule extends ThresholdLevels {
  /** A worse level is alerted once it has held this long, ms. @default the monitor's `enterDwellMs` */
  enterDwellMs?: number
  /** A recovery is alerted once it has held this long, ms. @default the monitor's `exitDwellMs` */
  exitDwellMs?: number
}

/** Alert rules by metric, independent of the status thresholds. */
export type MetricAlerts = Partial<Record<ThresholdMetric, MetricAlertRule>>

/** One sample's value of each threshold metric (undefined: no reading, e.g. too few requests). */
export type MetricValues = Readonly<Record<ThresholdMetric, number | undefined>>

/** Thresholds with every metric set: the defaults merged with the caller's. */
export type ResolvedThresholds = Required<Thresholds>

export const THRESHOLD_METRICS: readonly ThresholdMetric[] = [
  'cpu',
  'rss',
  'heapUsedRatio',
  'eventLoopDelay',
  'eventLoopUtilization',
  'errorRate',
  'latencyP99',
]

/**
 * The defaults are the signals of overload in this process: event-loop delay p99 (ms),
 * event-loop utilization and heap use against V8's limit. The error rate has none:
 * errors come from bugs and failing dependencies as much as from load, and shedding
 * requests cures neither. CPU, RSS and latency depend on the deployment and have none.
 */
export const DEFAULT_THRESHOLDS: Readonly<Record<ThresholdMetric, ThresholdLevels | false>> = {
  cpu: false,
  rss: false,
  heapUsedRatio: { degraded: { enter: 0.85, exit: 0.75 }, critical: { enter: 0.95, exit: 0.9 } },
  eventLoopDelay: { degraded: { enter: 100, exit: 50 }, critical: { enter: 500, exit: 200 } },
  eventLoopUtilization: { degraded: { enter: 0.9, exit: 0.75 }, critical: { enter: 0.98, exit: 0.9 } },
  errorRate: false,
  latencyP99: false,
}

/**
 * The level of one metric given its previous level: hysteresis, so a value
 * wandering around `enter` does not toggle the level. `undefined` (no data, e.g.
 * too few requests for an error rate) is healthy.
 */
export function levelOf(
  previous: HealthStatus,
  value: number | undefined,
  levels: ThresholdLevels,
): HealthStatus {
  if (value === undefined || Number.isNaN(value)) return 'healthy'
  const { degraded, critical } = levels
  if (critical && value >= critical.enter) return 'critical'
  if (previous === 'critical' && critical && value >= critical.exit) return 'critical'
  if (degraded && value >= degraded.enter) return 'degraded'
  if (previous !== 'healthy' && degraded && value >= degraded.exit) return 'degraded'
  return 'healthy'
}

/** The band a level is held by, to explain a status (entered at `enter`, left below `exit`). */
export function bandFor(level: HealthStatus, levels: ThresholdLevels): Band | undefined {
  if (level === 'critical') return levels.critical
  if (level === 'degraded') return levels.degraded
  return undefined
}
