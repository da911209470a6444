import { randomBytes } from 'node:crypto'
import { sleep, type TimerHandle } from '@headroom/core'
import type { Entry } from '../tiers/entry.js'
import type { LockAttempt, RedisStore } from '../tiers/redis-store.js'
import { runFactory } from './factory-runner.js'
import type { Load, LoadContext } from './load-context.js'

/**
 * With `lock`: one process computes, the others poll L2 (one script per poll that
 * returns a fresh value or hands over the lease), serve stale meanwhile if they have
 * it, and compute locally once `waitMs` has passed.
 */
export async function runLocked<T>(
  ctx: LoadContext & { store: RedisStore },
  load: Load<T>,
  stale: Entry | undefined,
  softAt: number,
): Promise<T> {
  const { clock, signals, store } = ctx
  const { key } = load
  const lock = ctx.defaults.lock
  const token = randomBytes(12).toString('hex')
  const deadline = clock.now() + lock.waitMs
  let waited = false
  for (;;) {
    let attempt: LockAttempt
    try {
      attempt = await store.tryLock(key, token, lock.leaseMs, clock.now())
    } catch (error) {
      signals.storeError('lock', error)
      break
    }
    if (attempt.state === 'fresh') {
      const entry = ctx.codec.decode(attempt.raw)
      if (entry !== undefined) {
        signals.l2Hit(key)
        ctx.loads.admitRead(key, load.ticket, entry, attempt.raw!.length * 2)
        return entry.value as T
      }
    }
    if (attempt.state === 'acquired') {
      signals.lockAcquired()
      return withLease(ctx, key, token, () => runFactory(ctx, load, stale, softAt))
    }
    if (!waited) {
      waited = true
      signals.lockWaited()
    }
    const candidate = ctx.codec.decode(attempt.raw)
    if (
      candidate !== undefined &&
      clock.now() < candidate.staleUntil &&
      (!stale || candidate.freshUntil > stale.freshUntil)
    ) {
      stale = candidate
    }
    // Someone else refreshes: the stale value is as good as it gets for now.
    if (stale) {
      signals.served(key, 'lock-held')
      return stale.value as T
    }
    if (clock.now() >= deadline) break
    await sleep(lock.pollMs, clock, ctx.closeSignal)
  }
  signals.lockFellBack()
  return runFactory(ctx, load, stale, softAt)
}

/**
 * Early refresh with `lock`: refresh only if no other process holds the lease and no
 * newer value is in L2 (then that one is adopted); the caller already has its value.
 */
export async function refreshIfFree<T>(
  ctx: LoadContext & { store: RedisStore },
  load: Load<T>,
  entry: Entry,
): Promise<T> {
  const lock = ctx.defaults.lock
  const token = randomBytes(12).toString('hex')
  // "Fresh" here means fresher than ours: another process refreshed already.
  const attempt = await ctx.store.tryLock(load.key, token, lock.leaseMs, entry.freshUntil)
  if (attempt.state === 'acquired') {
    return withLease(ctx, load.key, token, () => runFactory(ctx, load, entry, Number.POSITIVE_INFINITY))
  }
  const newer = attempt.state === 'fresh' ? ctx.codec.decode(attempt.raw) : undefined
  if (newer) ctx.loads.admitRead(load.key, load.ticket, newer, attempt.raw!.length * 2)
  return entry.value as T
}

/** Holds the lease while `run` works, renewing it every third of its length, then releases it. */
async function withLease<T>(
  ctx: LoadContext & { store: RedisStore },
  key: string,
  token: string,
  run: () => Promise<T>,
): Promise<T> {
  const { store, timers, signals } = ctx
  const leaseMs = ctx.defaults.lock.leaseMs
  let renewal: TimerHandle | undefined
  const renew = () => {
    renewal = timers.start(() => {
      store.renewLock(key, token, leaseMs).then(
        (held) => {
          if (held && renewal !== undefined) renew()
        },
        (error: unknown) => signals.storeError('lock-renew', error),
      )
    }, leaseMs / 3)
  }
  renew()
  try {
    return await run()
  } finally {
    const handle = renewal
    renewal = undefined
    timers.stop(handle)
    await store.releaseLock(key, token).catch((error: unknown) => signals.storeError('lock-release', error))
  }
}
