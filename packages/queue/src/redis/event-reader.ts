// Reads a queue's Redis Stream with XREAD BLOCK on a duplicate of the queue's client:
// a blocked read holds its connection, so it must not share the one jobs go through.
import type { RedisClient } from '@headroom/core'
import type { EventStreamReader, StoredEvent } from '../store/job-store.js'

type XReadReply = [key: string, entries: [id: string, fields: string[]][]][] | null

export function createRedisEventReader(redis: RedisClient, key: string): EventStreamReader {
  let connection: RedisClient | undefined
  let closed = false
  const blocking = (): RedisClient => {
    if (!connection) {
      connection = redis.duplicate()
      // Failures reach the reader as rejected reads; the subscriber reports and retries them.
      connection.on('error', () => {})
    }
    return connection
  }
  return {
    async read(after, count, blockMs) {
      if (closed) return []
      let reply: XReadReply
      try {
        reply = (await blocking().xread(
          'COUNT',
          count,
          'BLOCK',
          blockMs,
          'STREAMS',
          key,
          after,
        )) as XReadReply
      } catch (error) {
        if (closed) return []
        throw error
      }
      const entries = reply?.[0]?.[1]
      if (!entries) return []
      const out: StoredEvent[] = new Array(entries.length)
      for (let i = 0; i < entries.length; i++) {
        const [id, fields] = entries[i]!
        out[i] = { id, fields }
      }
      return out
    },
    async lastId() {
      const last = await redis.xrevrange(key, '+', '-', 'COUNT', 1)
      return last[0]?.[0] ?? '0-0'
    },
    close() {
      closed = true
      connection?.disconnect()
    },
  }
}
