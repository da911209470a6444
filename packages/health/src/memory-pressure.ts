import type { ProcessReadings } from './process-sampler.js'

/** How hard memory presses: `moderate` asks caches to trim, `critical` to shed much more. */
export type MemoryPressureLevel = 'none' | 'moderate' | 'critical'

/** The `memoryPressure` event: a cache answers with `cache.shrink(event.fraction)`. */
export interface MemoryPressureEvent {
  level: Exclude<MemoryPressureLevel, 'none'>
  /** The pressure, 0..1: the larger of heap use against V8's limit and RSS against `maxRssBytes`. */
  ratio: number
  heapUsedRatio: number
  rss: number
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
  /** RSS the process should stay under (e.g. the container limit), bytes; heap only when unset. */
  maxRssBytes?: number
}

export interface MemoryPressureDetector {
  readonly level: MemoryPressureLevel
  /** The event to emit for this sample, if any. */
  update(readings: ProcessReadings, now: number): MemoryPressureEvent | undefined
}

export function createMemoryPressureDetector(
  options: Required<Omit<MemoryPressureOptions, 'maxRssBytes'>> & {
    maxRssBytes?: number
  },
): MemoryPressureDetector {
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
      const rssRatio = options.maxRssBytes ? readings.rss / options.maxRssBytes : 0
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
        heapUsedRatio: readings.heapUsedRatio,
        rss: readings.rss,
        fraction: level === 'critical' ? options.criticalFraction : options.moderateFraction,
        at: now,
      }
    },
  }
}
