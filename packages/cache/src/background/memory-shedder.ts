// Sheds L1 on its own while memory is short: a timer reads the caller's pressure signal and,
// above the threshold, evicts the least recently used entries, a bounded number per tick so
// a large L1 is trimmed over several ticks instead of in one long pause.

import type { Logger } from '@headroom/core'
import type { MemoryPressureSettings } from '../options/options.js'
import type { L1 } from '../tiers/l1.js'
import type { TimerSet } from '../time/timer-set.js'

export interface MemoryShedder {
  /** Reads the signal once and sheds if it is above the threshold; returns how many went. */
  tick(): number
}

export function startMemoryShedder(
  settings: MemoryPressureSettings,
  deps: { l1: L1; timers: TimerSet; logger: Logger; isClosed: () => boolean },
): MemoryShedder {
  const { l1, timers, logger } = deps
  function tick(): number {
    let pressure: number
    try {
      pressure = settings.signal()
    } catch (error) {
      logger.debug({ err: error }, 'cache memory-pressure signal threw; nothing shed this tick')
      return 0
    }
    if (!(pressure >= settings.threshold) || l1.size === 0) return 0
    const count = Math.min(settings.maxPerTick, Math.ceil(l1.size * settings.fraction))
    const removed = l1.shed(count)
    logger.debug({ pressure, removed, left: l1.size }, 'cache shed L1 on memory pressure')
    return removed
  }
  const schedule = () => {
    // The timer set's clock unrefs its timers: this one never keeps the process alive.
    timers.start(() => {
      if (deps.isClosed()) return
      tick()
      schedule()
    }, settings.intervalMs)
  }
  schedule()
  return { tick }
}
