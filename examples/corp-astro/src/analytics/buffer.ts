import { withTimeout } from '@headroom/core'
import type { AnalyticsEvent } from './repository.js'

/** Options of {@link createAnalyticsBuffer}. */
export interface AnalyticsBufferOptions {
  /** Hands a batch to the durable job queue; resolves once the queue holds it. */
  flush: (events: AnalyticsEvent[]) => Promise<void>
  /** Longest an event waits in memory, and the retry period of a batch whose flush failed. @default 1000 */
  intervalMs?: number
  /** A batch this big is flushed at once. @default 500 */
  batchSize?: number
  /** Events held at most (failed batches put back included); beyond it new events are dropped and counted. @default 20000 */
  maxBuffered?: number
  /** Longest {@link AnalyticsBuffer.enqueue} waits for the queue before it gives up. @default 2000 */
  enqueueTimeoutMs?: number
  onError?: (error: unknown) => void
}

/**
 * Hands analytics events to the job queue.
 *
 * - `enqueue(events)` is what the API uses: it resolves only once the queue holds the
 *   events (in Redis when there is one), so a 202 means the events survive Redis
 *   restarting, a failover and this process being killed; it rejects when the queue
 *   cannot take them, and the caller answers 503 so the client retries. Calls made in
 *   the same turn of the event loop share one job (group commit, up to `batchSize`
 *   events): under load that is one queue write and one insert for many requests,
 *   and no request waits longer than the turn it arrived in.
 * - `push(events)` is the fire-and-forget path (best effort, in-process): events are
 *   batched in memory, and a batch whose flush failed is put back (bounded by
 *   `maxBuffered`) and retried on the next tick instead of being dropped.
 *
 * One timer for the whole buffer, unref'd.
 *
 * @example
 * const analytics = createAnalyticsBuffer({ flush: (events) => jobs.add('analytics-batch', { events }) })
 * await analytics.enqueue(events) // then answer 202
 */
export function createAnalyticsBuffer(options: AnalyticsBufferOptions) {
  const intervalMs = options.intervalMs ?? 1000
  const batchSize = options.batchSize ?? 500
  const maxBuffered = options.maxBuffered ?? 20_000
  const enqueueTimeoutMs = options.enqueueTimeoutMs ?? 2000
  let buffer: AnalyticsEvent[] = []
  let accepted = 0
  let dropped = 0
  let batches = 0
  let failed = 0
  let requeued = 0
  let enqueued = 0
  let refused = 0
  let lostOnClose = 0
  let inFlight = new Set<Promise<void>>()
  /** The group commit being gathered this turn: its events and what its callers await. */
  let group: { events: AnalyticsEvent[]; done: Promise<void> } | undefined

  const openGroup = () => {
    const events: AnalyticsEvent[] = []
    const opened = {
      events,
      // After the I/O phase: every request read in this turn has joined by then.
      done: new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        if (group === opened) group = undefined
        return options.flush(events)
      }),
    }
    // Each caller awaits `done` itself; this keeps a refused group from also surfacing as unhandled.
    opened.done.catch(() => {})
    return opened
  }

  /** Puts a failed batch back at the front (oldest first), dropping only past the bound. */
  const putBack = (batch: AnalyticsEvent[]) => {
    const room = Math.max(maxBuffered - buffer.length, 0)
    const kept = batch.length <= room ? batch : batch.slice(0, room)
    dropped += batch.length - kept.length
    requeued += kept.length
    buffer = kept.concat(buffer)
  }

  const flushNow = () => {
    if (buffer.length === 0) return
    const batch = buffer.length > batchSize ? buffer.slice(0, batchSize) : buffer
    buffer = batch === buffer ? [] : buffer.slice(batchSize)
    batches++
    const done = options
      .flush(batch)
      .catch((error: unknown) => {
        failed += batch.length
        putBack(batch)
        options.onError?.(error)
      })
      .finally(() => inFlight.delete(done))
    inFlight.add(done)
  }

  const timer = setInterval(flushNow, intervalMs)
  timer.unref()

  return {
    /**
     * Durable hand-off: resolves once the queue holds `events`, rejects (the events
     * were not taken) when it cannot, within `enqueueTimeoutMs`.
     */
    async enqueue(events: AnalyticsEvent[]): Promise<void> {
      if (group === undefined || group.events.length + events.length > batchSize) group = openGroup()
      for (const event of events) group.events.push(event)
      try {
        await withTimeout(group.done, enqueueTimeoutMs, {
          message: 'The job queue did not take the analytics events in time',
        })
        enqueued += events.length
        accepted += events.length
      } catch (error) {
        refused += events.length
        throw error
      }
    },
    /** Best-effort hand-off through the in-memory buffer; returns how many events were taken. */
    push(events: AnalyticsEvent[]): number {
      const room = Math.max(maxBuffered - buffer.length, 0)
      const taken = Math.min(room, events.length)
      dropped += events.length - taken
      for (let i = 0; i < taken; i++) buffer.push(events[i]!)
      accepted += taken
      if (buffer.length >= batchSize) flushNow()
      return taken
    },
    /** Flushes what is buffered and waits for every batch in flight. */
    async flush() {
      while (buffer.length > 0) {
        const before = buffer.length
        flushNow()
        await Promise.all(inFlight)
        // A failed flush put its batch back: stop rather than spin; the timer retries.
        if (buffer.length >= before) break
      }
      await Promise.all(inFlight)
    },
    stats: () => ({
      buffered: buffer.length,
      accepted,
      dropped,
      batches,
      failed,
      requeued,
      enqueued,
      refused,
      lostOnClose,
    }),
    async close() {
      clearInterval(timer)
      // A group commit gathered this turn is handed over before the queue closes.
      await group?.done.catch(() => {})
      await this.flush()
      // Whatever the queue still refused is lost with the process: count it honestly.
      lostOnClose += buffer.length
      buffer = []
      inFlight = new Set()
    },
  }
}

export type AnalyticsBuffer = ReturnType<typeof createAnalyticsBuffer>
