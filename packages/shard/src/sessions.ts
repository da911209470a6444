import type { Clock } from '@headroom/core'

/**
 * Remembers, per (session, shard), until when reads must go to the primary after a
 * write (read-your-writes). Bounded: past `max` entries the oldest is dropped; expired
 * entries are dropped when read. No timer.
 */
export interface SessionTable {
  markWrite(session: string, shardId: string): void
  /** True while a write by `session` on `shardId` is younger than the window. */
  mustReadPrimary(session: string, shardId: string): boolean
  readonly size: number
  clear(): void
}

export function createSessionTable(windowMs: number, max: number, clock: Clock): SessionTable {
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
    mustReadPrimary(session, shardId) {
      if (until.size === 0) return false
      const key = `${shardId}\u0000${session}`
      const deadline = until.get(key)
      if (deadline === undefined) return false
      if (clock.now() < deadline) return true
      until.delete(key)
      return false
    },
    get size() {
      return until.size
    },
    clear: () => until.clear(),
  }
}
