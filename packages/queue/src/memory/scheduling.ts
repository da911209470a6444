// The memory store's scheduling state: job schedulers, the pause flag, the rate-limit
// window and idle workers' wake-ups. The same rules as the Redis scripts
// (redis/scripts/schedule.ts), for one process.
import { type Clock, Fifo, type TimerHandle } from '@headroom/core'
import type { NewJob, StoreConfig } from '../store/job-store.js'
import type { RepeatSlot, SchedulingStore, StoredScheduler, WorkWaiter } from '../store/scheduling-store.js'

export interface MemorySchedulingDeps {
  config: StoreConfig
  clock: Clock
  /** The store's add (a job whose id exists is left as it is). */
  add(jobs: readonly NewJob[]): Promise<string[]>
  /** Deletes job `id` if it is delayed (not yet due); true if it was. */
  dropDelayed(id: string): boolean
  /** True while job `id` is delayed or waiting (not claimed yet). */
  pending(id: string): boolean
  /** Subscribes to the store's wake-ups (adds, hand-backs, resume). */
  onAvailable(listener: () => void): () => void
  /** Wakes idle workers. */
  wake(): void
}

/** The id of a scheduler's job for the slot at `at`: the same in every process. */
export function repeatJobId(key: string, at: number): string {
  return `repeat:${key}:${at}`
}

export function createMemoryScheduling(deps: MemorySchedulingDeps) {
  const { clock, config } = deps
  const schedulers = new Map<string, { spec: string; next: number | undefined }>()
  /** Claim times inside the current rate-limit window, oldest first. */
  const window = new Fifo<number>()
  let paused = false

  const methods: SchedulingStore = {
    async scheduleRepeat(mode, slot: RepeatSlot) {
      let entry = schedulers.get(slot.key)
      if (mode === 'next' && entry?.spec !== slot.spec) return undefined
      if (entry === undefined || entry.spec !== slot.spec) {
        if (entry?.next !== undefined) deps.dropDelayed(repeatJobId(slot.key, entry.next))
        entry = { spec: slot.spec, next: undefined }
        schedulers.set(slot.key, entry)
      }
      const last = entry.next
      if (last !== undefined) {
        if (slot.at <= last) return last
        if (mode === 'upsert' && deps.pending(repeatJobId(slot.key, last))) return last
      }
      entry.next = slot.at
      await deps.add([
        {
          id: repeatJobId(slot.key, slot.at),
          payload: slot.payload,
          priority: slot.priority,
          delayMs: Math.max(0, slot.at - clock.now()),
        },
      ])
      deps.wake()
      return slot.at
    },
    async listRepeats(): Promise<StoredScheduler[]> {
      return [...schedulers].map(([key, { spec, next }]) => ({ key, spec, next }))
    },
    async removeRepeat(key) {
      const entry = schedulers.get(key)
      if (!entry) return false
      schedulers.delete(key)
      if (entry.next !== undefined) deps.dropDelayed(repeatJobId(key, entry.next))
      return true
    },
    async setPaused(value) {
      paused = value
      if (!value) deps.wake()
    },
    async isPaused() {
      return paused
    },
    createWaiter(): WorkWaiter {
      let timer: TimerHandle | undefined
      let unsubscribe: (() => void) | undefined
      let done: (() => void) | undefined
      const end = () => {
        if (timer !== undefined) clock.clearTimeout(timer)
        timer = undefined
        unsubscribe?.()
        unsubscribe = undefined
        const resolve = done
        done = undefined
        resolve?.()
      }
      return {
        wait(ms) {
          end()
          return new Promise<void>((resolve) => {
            done = resolve
            unsubscribe = deps.onAvailable(end)
            timer = clock.setTimeout(end, ms)
          })
        },
        close: end,
      }
    },
  }

  return {
    methods,
    /**
     * How many of `count` jobs a claim may lease now: none while paused, fewer under the
     * rate limit; `wakeInMs` says when the limit frees a slot.
     */
    allowance(count: number, now: number): { count: number; wakeInMs: number | undefined } {
      if (paused) return { count: 0, wakeInMs: undefined }
      const limiter = config.limiter
      if (limiter === undefined) return { count, wakeInMs: undefined }
      for (
        let head = window.peek();
        head !== undefined && head <= now - limiter.durationMs;
        head = window.peek()
      )
        window.shift()
      const free = limiter.max - window.length
      if (free > 0) return { count: Math.min(count, free), wakeInMs: undefined }
      return { count: 0, wakeInMs: window.peek()! + limiter.durationMs - now }
    },
    /** Records `n` jobs leased at `now` in the rate-limit window. */
    spend(n: number, now: number) {
      if (config.limiter === undefined) return
      for (let i = 0; i < n; i++) window.push(now)
    },
    get paused() {
      return paused
    },
  }
}
