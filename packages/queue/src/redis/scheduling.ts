// The Redis store's scheduling: job schedulers, the pause flag and idle workers blocking
// on the queue's marker list (see scripts/schedule.ts for the keys).
import { isCluster, type RedisClient, type RedisScript } from '@headroom/core'
import type { SchedulingStore, StoredScheduler, WorkWaiter } from '../store/scheduling-store.js'
import { listRepeatsScript, pauseScript, removeRepeatScript, repeatScript } from './scripts/schedule.js'

export interface RedisSchedulingOptions {
  redis: RedisClient
  /** The queue's hash tag, `{prefix:name}`. */
  tag: string
  jobPrefix: string
  agingMs: number
  /** Runs a queue script with the queue's KEYS and the worker command timeout. */
  run<T>(script: RedisScript, args: (string | number)[]): Promise<T>
}

export function createRedisScheduling(options: RedisSchedulingOptions): SchedulingStore {
  const { redis, jobPrefix, run } = options
  const marker = `${options.tag}:marker`

  return {
    async scheduleRepeat(mode, slot) {
      const latest = await run<string | number>(repeatScript, [
        jobPrefix,
        options.agingMs,
        mode === 'upsert' ? 'u' : 'n',
        slot.key,
        slot.spec,
        slot.at,
        slot.payload,
        slot.priority,
      ])
      const at = Number(latest)
      return at < 0 ? undefined : at
    },

    async listRepeats() {
      const flat = await run<string[]>(listRepeatsScript, [jobPrefix])
      const out: StoredScheduler[] = []
      for (let i = 0; i < flat.length; i += 3) {
        const next = flat[i + 2]
        out.push({ key: flat[i]!, spec: flat[i + 1]!, next: next ? Number(next) : undefined })
      }
      return out
    },

    async removeRepeat(key) {
      return (await run<number>(removeRepeatScript, [jobPrefix, key])) === 1
    },

    async setPaused(paused) {
      await run<number>(pauseScript, [jobPrefix, paused ? '1' : '0'])
    },

    async isPaused() {
      return (await run<number>(pauseScript, [jobPrefix, 'get'])) === 1
    },

    createWaiter(): WorkWaiter {
      // A connection of its own: a blocking pop holds it for the whole wait, and the
      // queue's client must stay free for claims, adds and heartbeats.
      let connection: RedisClient | undefined
      let closed = false
      let wake: (() => void) | undefined
      return {
        wait(ms) {
          if (closed) return Promise.resolve()
          if (connection === undefined) {
            // Without the client's command timeout, if it has one: a blocking pop outlasts it by design.
            connection = isCluster(redis) ? redis.duplicate() : redis.duplicate({ commandTimeout: undefined })
            connection.on('error', () => {
              // Errors surface as a failed BLPOP below; the worker's claims report Redis trouble.
            })
          }
          const blocking = connection
          return new Promise<void>((resolve) => {
            let timer: NodeJS.Timeout | undefined
            const done = () => {
              if (timer !== undefined) clearTimeout(timer)
              wake = undefined
              resolve()
            }
            wake = done
            // BLPOP takes seconds (decimals since Redis 6); 0 would block for ever.
            blocking.blpop(marker, Math.max(ms, 10) / 1000).then(done, () => {
              // Down or closing: wait out the time rather than spin on failing pops.
              if (closed) done()
              else timer = setTimeout(done, ms).unref()
            })
          })
        },
        close() {
          closed = true
          wake?.()
          connection?.disconnect()
          connection = undefined
        },
      }
    },
  }
}
