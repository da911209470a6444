import { type MemoryLimit, resolveMemoryLimit } from './memory-limit.js'
import type { ProcessReadings } from './sampler.js'

/** How hard memory presses: `moderate` asks caches to trim, `critical` to shed much more. */
export type MemoryPressureLevel = 'none' | 'moderate' | 'critical'

/** The `memoryPressure` event: a cache answers with `cache.shrink(event.fraction)`. */
export interface MemoryPressureEvent {
  level: Exclude<MemoryPressureLevel, 'none'>
  /** The pressure, 0..1: the larger of RSS against the memory limit and heap use against V8's limit. */
  ratio: number
  /** RSS / the memory limit. */
  rssRatio: number
  heapUsedRatio: number
  rss: number
  /** What RSS is measured against: the container's limit, `memoryLimitBytes`, or total memory. */
  limit: MemoryLimit
  /** Suggested share of cached entries to evict (0..1). */
  fraction: number
  /** When the sample was taken (ms since the epoch). */
  at: number
}

/** When to signal memory pressure. */
export interface MemoryPressureOptions {
  /** Pressure ratio at which `moderate` starts. @default 0.8 */
  moderate?: number
  /** Pressure ratio at which `critical` starts. @default 0.92 */
  critical?: number
  /** A level ends once the ratio is this far below where it started. @default 0.05 */
  hysteresis?: number
  /** Share of cache to evict on `moderate`. @default 0.2 */
  moderateFraction?: number
  /** Share of cache to evict on `critical`. @default 0.5 */
  criticalFraction?: number
  /** While pressure lasts, the event repeats this often, ms. @default 10000 */
  repeatMs?: number
  /**
   * The process' memory budget, bytes. RSS is measured against the smaller of it and the
   * container's limit (cgroup v2 `memory.max`, or v1 `memory.limit_in_bytes`); with
   * neither, against the machine's total memory.
   * @default the container's limit, else total memory
   */
  memoryLimitBytes?: number
  /** The same as `memoryLimitBytes` (the older name); the smaller wins when both are set. */
  maxRssBytes?: number
}

export interface MemoryPressureDetector {
  readonly level: MemoryPressureLevel
  /** The event to emit for this sample, if any. */
  update(readings: ProcessReadings, now: number): MemoryPressureEvent | undefined
}

export function createMemoryPressureDetector(
  options: Required<Omit<MemoryPressureOptions, 'maxRssBytes' | 'memoryLimitBytes'>> & {
    maxRssBytes?: number
    memoryLimitBytes?: number
    /** Where to read the cgroup limit (tests). @default '/sys/fs/cgroup' */
    cgroupRoot?: string
  },
): MemoryPressureDetector {
  const configured =
    options.memoryLimitBytes !== undefined && options.maxRssBytes !== undefined
      ? Math.min(options.memoryLimitBytes, options.maxRssBytes)
      : (options.memoryLimitBytes ?? options.maxRssBytes)
  // Heap use against V8's limit alone never fires in practice (V8's limit is far above
  // what a container allows: 0.011 at 590 MB RSS), so RSS against the real limit leads.
  const limit = resolveMemoryLimit(configured, options.cgroupRoot)
  let level: MemoryPressureLevel = 'none'
  let lastEmit = Number.NEGATIVE_INFINITY

  const levelFor = (ratio: number): MemoryPressureLevel => {
    if (ratio >= options.critical) return 'critical'
    if (level === 'critical' && ratio >= options.critical - options.hysteresis) return 'critical'
    if (ratio >= options.moderate) return 'moderate'
    if (level !== 'none' && ratio >= options.moderate - options.hysteresis) return 'moderate'
    return 'none'
  }

  return {
    get level() {
      return level
    },
    update(readings, now) {
      const rssRatio = readings.rss / limit.bytes
      const ratio = Math.max(readings.heapUsedRatio, rssRatio)
      const previous = level
      level = levelFor(ratio)
      if (level === 'none') return undefined
      const rose = previous === 'none' || (previous === 'moderate' && level === 'critical')
      if (!rose && now - lastEmit < options.repeatMs) return undefined
      lastEmit = now
      return {
        level,
        ratio,
        rssRatio,
        heapUsedRatio: readings.heapUsedRatio,
        rss: readings.rss,
        limit,
        fraction: level === 'critical' ? options.criticalFraction : options.moderateFraction,
        at: now,
      }
    },
  }
}
