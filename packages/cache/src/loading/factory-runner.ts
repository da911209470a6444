import { TimeoutError, type TimerHandle } from '@headroom/core'
import type { Entry } from '../tiers/entry.js'
import type { StaleReason } from '../types.js'
import { writeEntry } from './entry-writer.js'
import type { Load, LoadContext } from './load-context.js'

/**
 * Runs a factory under the hard timeout and, with a stale value at hand, the soft
 * deadline (`softAt`, counted from the start of the load so the caller's total wait is
 * bounded). The write to L1/L2 happens even when the caller already got the stale value.
 */
export function runFactory<T>(
  ctx: LoadContext,
  load: Load<T>,
  stale: Entry | undefined,
  softAt: number,
): Promise<T> {
  const { clock, signals, timers } = ctx
  const { key, factory, options } = load
  signals.factoryCalled()
  const controller = new AbortController()
  const started = clock.now()
  let produced: Promise<T>
  try {
    produced = Promise.resolve(
      factory({ key, stale: stale?.value as T | undefined, signal: controller.signal }),
    )
  } catch (error) {
    produced = Promise.reject(error)
  }
  const hardMs = options?.timeout?.hard ?? ctx.defaults.timeout.hard
  return new Promise<T>((resolve, reject) => {
    let settled = false
    let abandoned = false
    const settle = (fn: () => void) => {
      if (settled) return
      settled = true
      fn()
    }
    const serveStale = (reason: StaleReason) => {
      signals.served(key, reason)
      resolve(stale!.value as T)
    }
    const hardTimer = timers.start(() => {
      abandoned = true
      signals.hardTimeout()
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
          signals.softTimeout()
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
        const factoryMs = clock.now() - started
        signals.factorySucceeded(factoryMs)
        let stored: T
        try {
          stored = (await writeEntry(ctx, key, value, { options, factoryMs, ticket: load.ticket })) as T
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
        signals.factoryFailed(key, error)
        settle(() => (stale ? serveStale('factory-error') : reject(error)))
      },
    )
  })
}
