import { EventEmitter } from 'node:events'
import type { Clock, TimerHandle } from '@headroom/core'

/**
 * One timer that slides the rolling windows of many breakers. It is also opossum's
 * `rotateBucketController`, so opossum's own window slides on the same tick instead of
 * running two intervals per breaker. The timer runs only while someone listens.
 */
export interface Ticker {
  readonly periodMs: number
  /** The EventEmitter handed to opossum as `rotateBucketController`. */
  readonly controller: EventEmitter
  /** Calls `fn` on every tick; the returned function stops it. */
  add(fn: () => void): () => void
  /** Stops the timer and drops every listener. */
  close(): void
}

export function createTicker(clock: Clock, periodMs: number): Ticker {
  const controller = new EventEmitter()
  // Many breakers (a registry) listen on one controller: not a leak.
  controller.setMaxListeners(0)
  const listeners = new Set<() => void>()
  let timer: TimerHandle | undefined

  const tick = () => {
    timer = clock.setTimeout(tick, periodMs)
    for (const fn of listeners) fn()
    controller.emit('rotate')
  }

  return {
    periodMs,
    controller,
    add(fn) {
      listeners.add(fn)
      if (timer === undefined) timer = clock.setTimeout(tick, periodMs)
      return () => {
        listeners.delete(fn)
        if (listeners.size === 0 && timer !== undefined) {
          clock.clearTimeout(timer)
          timer = undefined
        }
      }
    },
    close() {
      if (timer !== undefined) clock.clearTimeout(timer)
      timer = undefined
      listeners.clear()
      controller.removeAllListeners()
    },
  }
}
