// The memory store's event stream: what a Redis Stream is to the Redis store (ids of the
// form `<ms>-<seq>`, a bounded history, blocking reads after an id), in this process.
import type { Clock } from '@headroom/core'
import type { EventStreamReader, StoredEvent } from '../store/job-store.js'

export interface MemoryEventLog {
  /** One event: its kind and its item's values (as the Redis scripts write them). */
  append(kind: string, ...values: string[]): void
  reader(): EventStreamReader
  clear(): void
  close(): void
}

/** Parses a stream id (`<ms>-<seq>`, or `<ms>`, as Redis accepts) into its two numbers. */
function parseId(id: string): [number, number] {
  const dash = id.indexOf('-')
  if (dash < 0) return [Number(id), 0]
  return [Number(id.slice(0, dash)), Number(id.slice(dash + 1))]
}

const after = (a: [number, number], b: [number, number]) => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])

/** A log keeping about `maxLen` entries (trimmed in steps, as Redis' `MAXLEN ~` does). */
export function createMemoryEventLog(maxLen: number, clock: Clock): MemoryEventLog {
  let entries: { id: string; at: [number, number]; fields: string[] }[] = []
  let lastMs = 0
  let seq = 0
  const waiting = new Set<() => void>()

  const wake = () => {
    for (const resolve of [...waiting]) resolve()
  }

  return {
    append(kind, ...values) {
      // Ids only grow, even when the clock steps back.
      const now = Math.max(clock.now(), lastMs)
      seq = now === lastMs ? seq + 1 : 0
      lastMs = now
      entries.push({ id: `${now}-${seq}`, at: [now, seq], fields: ['e', kind, ...values] })
      if (entries.length > maxLen + Math.max(1, maxLen >> 2)) entries = entries.slice(entries.length - maxLen)
      if (waiting.size > 0) wake()
    },
    reader() {
      let closed = false
      let stop: (() => void) | undefined
      // An open subscriber keeps the process alive until closed, as its Redis connection would.
      const keepAlive = setInterval(() => {}, 2 ** 31 - 1)
      const since = (id: string, count: number): StoredEvent[] => {
        const from = parseId(id)
        // Binary search for the first entry after `from`.
        let lo = 0
        let hi = entries.length
        while (lo < hi) {
          const mid = (lo + hi) >> 1
          if (after(entries[mid]!.at, from)) hi = mid
          else lo = mid + 1
        }
        return entries.slice(lo, lo + count).map(({ id, fields }) => ({ id, fields }))
      }
      return {
        async read(id, count, blockMs) {
          if (closed) return []
          const found = since(id, count)
          if (found.length > 0 || blockMs <= 0) return found
          await new Promise<void>((resolve) => {
            const done = () => {
              waiting.delete(done)
              clock.clearTimeout(timer)
              stop = undefined
              resolve()
            }
            const timer = clock.setTimeout(done, blockMs)
            waiting.add(done)
            stop = done
          })
          return closed ? [] : since(id, count)
        },
        async lastId() {
          return entries.at(-1)?.id ?? '0-0'
        },
        close() {
          closed = true
          clearInterval(keepAlive)
          stop?.()
        },
      }
    },
    clear() {
      entries = []
    },
    close() {
      wake()
    },
  }
}
