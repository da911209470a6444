import { randomBytes } from 'node:crypto'
import { sleep, type TimerHandle } from '@headroom/core'
import type { Entry } from './entry.js'
import { runFactory } from './factory-runner.js'
import type { LoadContext } from './load-context.js'
import type { LockSettings } from './options.js'
import type { LockAttempt, RedisStore } from './redis-store.js'
import type { Factory, GetOrSetOptions } from './types.js'

/**
 * With `lock`: one process computes, the others poll L2 (one script per poll that
 * returns a fresh value or hands over the lease), serve stale meanwhile if they have
 * it, and compute locally once `waitMs` has passed.
 */
export async function runLocked<T>(
  ctx: LoadContext,
  store: RedisStore,
  lock: LockSettings,
  key: string,
  factory: Factory<T>,
  options: GetOrSetOptions | undefined,
  stale: Entry | undefined,
  softAt: number,
  startGeneration: number,
): Promise<T> {
  const { clock, counters } = ctx
  const token = randomBytes(12).toString('hex')
  const deadline = clock.now() + lock.waitMs
  let waited = false
  for (;;) {
    let attempt: LockAttempt
    try {
      attempt = await store.tryLock(key, token, lock.leaseMs, clock.now())
    } catch (error) {
      ctx.storeError('lock', error)
      break
    }
    if (attempt.state === 'fresh') {
      const entry = ctx.decode(attempt.raw)
      if (entry !== undefined) {
        counters.l2Hits++
        counters.groups.of(key).l2Hits++
        ctx.adopt(key, entry, attempt.raw!, startGeneration)
        return entry.v as T
      }
    }
    if (attempt.state === 'acquired') {
      counters.lockAcquired++
      return withLease(ctx, store, lock, key, token, () =>
        runFactory(ctx, key, factory, options, stale, softAt, startGeneration),
      )
    }
    if (!waited) {
      waited = true
      counters.lockWaited++
    }
    const candidate = ctx.decode(attempt.raw)
    if (candidate !== undefined && clock.now() < candidate.s && (!stale || candidate.e > stale.e)) {
      stale = candidate
    }
    // Someone else refreshes: the stale value is as good as it gets for now.
    if (stale) {
      ctx.served(key, 'lock-held')
      return stale.v as T
    }
    if (clock.now() >= deadline) break
    await sleep(lock.pollMs, clock, ctx.closeSignal)
  }
  counters.lockFallbacks++
  return runFactory(ctx, key, factory, options, stale, softAt, startGeneration)
}

/**
 * Early refresh with `lock`: refresh only if no other process holds the lease and no
 * newer value is in L2 (then that one is adopted); the caller already has its value.
 */
export async function refreshIfFree<T>(
  ctx: LoadContext,
  store: RedisStore,
  lock: LockSettings,
  key: string,
  factory: Factory<T>,
  options: GetOrSetOptions | undefined,
  entry: Entry,
  startGeneration: number,
): Promise<T> {
  const token = randomBytes(12).toString('hex')
  // "Fresh" here means fresher than ours: another process refreshed already.
  const attempt = await store.tryLock(key, token, lock.leaseMs, entry.e)
  if (attempt.state === 'acquired') {
    return withLease(ctx, store, lock, key, token, () =>
      runFactory(ctx, key, factory, options, entry, Number.POSITIVE_INFINITY, startGeneration),
    )
  }
  const newer = attempt.state === 'fresh' ? ctx.decode(attempt.raw) : undefined
  if (newer) ctx.adopt(key, newer, attempt.raw!, startGeneration)
  return entry.v as T
}

/** Holds the lease while `run` works, renewing it every third of its length, then releases it. */
async function withLease<T>(
  ctx: LoadContext,
  store: RedisStore,
  lock: LockSettings,
  key: string,
  token: string,
  run: () => Promise<T>,
): Promise<T> {
  let renewal: TimerHandle | undefined
  const renew = () => {
    renewal = ctx.timers.start(() => {
      store.renewLock(key, token, lock.leaseMs).then(
        (held) => {
          if (held && renewal !== undefined) renew()
        },
        (error: unknown) => ctx.storeError('lock-renew', error),
      )
    }, lock.leaseMs / 3)
  }
  renew()
  try {
    return await run()
  } finally {
    const handle = renewal
    renewal = undefined
    ctx.timers.stop(handle)
    await store.releaseLock(key, token).catch((error: unknown) => ctx.storeError('lock-release', error))
  }
}
