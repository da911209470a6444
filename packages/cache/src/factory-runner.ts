import { TimeoutError, type TimerHandle } from '@headroom/core'
import type { Entry } from './entry.js'
import type { LoadContext } from './load-context.js'
import type { Factory, GetOrSetOptions, StaleReason } from './types.js'

/**
 * Runs a factory under the hard timeout and, with a stale value at hand, the soft
 * deadline (`softAt`, counted from the start of the load so the caller's total wait is
 * bounded). The write to L1/L2 happens even when the caller already got the stale value.
 */
export function runFactory<T>(
  ctx: LoadContext,
  key: string,
  factory: Factory<T>,
  options: GetOrSetOptions | undefined,
  stale: Entry | undefined,
  softAt: number,
  startGeneration: number,
): Promise<T> {
  const { clock, counters, timers } = ctx
  counters.factoryCalls++
  const controller = new AbortController()
  const started = clock.now()
  let produced: Promise<T>
  try {
    produced = Promise.resolve(factory({ key, stale: stale?.v as T | undefined, signal: controller.signal }))
  } catch (error) {
    produced = Promise.reject(error)
  }
  const hardMs = options?.timeout?.hard ?? ctx.hardTimeout
  return new Promise<T>((resolve, reject) => {
    let settled = false
    let abandoned = false
    const settle = (fn: () => void) => {
      if (settled) return
      settled = true
      fn()
    }
    const serveStale = (reason: StaleReason) => {
      ctx.served(key, reason)
      resolve(stale!.v as T)
    }
    const hardTimer = timers.start(() => {
      abandoned = true
      counters.hardTimeouts++
      timers.stop(softTimer)
      const error = new TimeoutError(`Factory for cache key "${key}" timed out after ${hardMs} ms`)
      controller.abort(error)
      settle(() => (stale ? serveStale('hard-timeout') : reject(error)))
    }, hardMs)
    let softTimer: TimerHandle | undefined
    if (stale) {
      const softMs = options?.timeout?.soft
      const at = softMs === undefined ? softAt : started + softMs
      softTimer = timers.start(
        () => {
          counters.softTimeouts++
          settle(() => serveStale('soft-timeout'))
        },
        Math.max(0, at - clock.now()),
      )
    }
    produced.then(
      async (value) => {
        timers.stop(hardTimer)
        timers.stop(softTimer)
        if (abandoned) return
        const duration = clock.now() - started
        counters.factoryLatency.record(duration)
        let stored: T
        try {
          stored = (await ctx.write(key, value, options, duration, startGeneration)) as T
        } catch (error) {
          // Bad output (undefined, not serialisable) is the caller's bug: say so, store nothing.
          settle(() => reject(error))
          return
        }
        settle(() => resolve(stored))
      },
      (error: unknown) => {
        timers.stop(hardTimer)
        timers.stop(softTimer)
        if (abandoned) return
        counters.factoryErrors++
        ctx.factoryFailed(key, error)
        settle(() => (stale ? serveStale('factory-error') : reject(error)))
      },
    )
  })
}
