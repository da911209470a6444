import type { AnalyticsEvent } from './repository.js'

/** Options of {@link createAnalyticsBuffer}. */
export interface AnalyticsBufferOptions {
  /** Hands a full batch to the job queue. */
  flush: (events: AnalyticsEvent[]) => Promise<void>
  /** Longest an event waits in memory. @default 1000 */
  intervalMs?: number
  /** A batch this big is flushed at once. @default 500 */
  batchSize?: number
  /** Events held at most; beyond it new events are dropped and counted (memory stays bounded). @default 20000 */
  maxBuffered?: number
  onError?: (error: unknown) => void
}

/**
 * Collects analytics events in memory and hands them on in batches: one multi-row
 * insert per batch instead of one per event. One timer for the whole buffer, unref'd.
 */
export function createAnalyticsBuffer(options: AnalyticsBufferOptions) {
  const intervalMs = options.intervalMs ?? 1000
  const batchSize = options.batchSize ?? 500
  const maxBuffered = options.maxBuffered ?? 20_000
  let buffer: AnalyticsEvent[] = []
  let accepted = 0
  let dropped = 0
  let batches = 0
  let failed = 0
  let inFlight = new Set<Promise<void>>()

  const flushNow = () => {
    if (buffer.length === 0) return
    const batch = buffer
    buffer = []
    batches++
    const done = options
      .flush(batch)
      .catch((error: unknown) => {
        failed += batch.length
        options.onError?.(error)
      })
      .finally(() => inFlight.delete(done))
    inFlight.add(done)
  }

  const timer = setInterval(flushNow, intervalMs)
  timer.unref()

  return {
    push(events: AnalyticsEvent[]) {
      const room = maxBuffered - buffer.length
      if (room < events.length) dropped += events.length - Math.max(room, 0)
      for (let i = 0; i < Math.min(room, events.length); i++) buffer.push(events[i]!)
      accepted += Math.min(Math.max(room, 0), events.length)
      if (buffer.length >= batchSize) flushNow()
    },
    /** Flushes what is buffered and waits for every batch in flight. */
    async flush() {
      flushNow()
      await Promise.all(inFlight)
    },
    stats: () => ({ buffered: buffer.length, accepted, dropped, batches, failed }),
    async close() {
      clearInterval(timer)
      await this.flush()
      inFlight = new Set()
    },
  }
}

export type AnalyticsBuffer = ReturnType<typeof createAnalyticsBuffer>
