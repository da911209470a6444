import type { Clock } from '@headroom/core'

/**
 * Remembers, per (session, shard), the end of the read-your-writes window of the
 * session's last write there. Inside the window the session reads the primary; after
 * it, a replica whose replay is measured (a lag probe) serves the session only once it
 * has replayed what the primary held at the window's end, so the entry is kept
 * `retainMs` longer. Bounded: past `max` entries the oldest is dropped; stale entries
 * are dropped when read. No timer.
 */
export interface SessionTable {
  markWrite(session: string, shardId: string): void
  /**
   * The end of the window of `session`'s last write on `shardId`, or undefined when it
   * wrote nothing there within the window plus `retainMs`.
   */
  windowEnd(session: string, shardId: string): number | undefined
  readonly size: number
  clear(): void
}

export interface SessionTableOptions {
  /** The read-your-writes window after a write, ms; 0 turns the table off. */
  windowMs: number
  /** How long an entry is kept past its window, ms. */
  retainMs: number
  /** Most entries; the oldest is dropped first. */
  max: number
  clock: Clock
}

export function createSessionTable({ windowMs, retainMs, max, clock }: SessionTableOptions): SessionTable {
  const until = new Map<string, number>()
  return {
    markWrite(session, shardId) {
      if (windowMs <= 0) return
      const key = `${shardId}\u0000${session}`
      // Re-inserting moves the key to the end: Map order is then oldest-first.
      until.delete(key)
      until.set(key, clock.now() + windowMs)
      if (until.size > max) until.delete(until.keys().next().value!)
    },
    windowEnd(session, shardId) {
      if (until.size === 0) return undefined
      const key = `${shardId}\u0000${session}`
      const end = until.get(key)
      if (end === undefined) return undefined
      if (clock.now() < end + retainMs) return end
      until.delete(key)
      return undefined
    },
    get size() {
      return until.size
    },
    clear: () => until.clear(),
  }
}
