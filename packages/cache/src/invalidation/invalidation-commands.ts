// The cache's explicit invalidations (`delete`, `invalidateTags`, `invalidateEntity`):
// each applies locally first (L1 and the loads in flight), then in Redis, then on the bus.

import type { Clock } from '@headroom/core'
import { entityTag } from '../entity.js'
import type { CacheSignals } from '../metrics/cache-signals.js'
import { assertKey, assertTags } from '../options/call-options.js'
import type { RedisStore } from '../tiers/redis-store.js'
import type { L1Coherence, LocalInvalidation } from './l1-coherence.js'
import type { Recovery, RecoveryOp } from './recovery.js'

/** The parts of the cache an explicit invalidation works with. */
export interface InvalidationContext {
  readonly clock: Clock
  readonly signals: CacheSignals
  /** Applies the invalidation here: L1 and the loads in flight. */
  readonly loads: LocalInvalidation
  readonly store: RedisStore | undefined
  readonly coherence: L1Coherence
  readonly recovery: Recovery | undefined
}

/** Removes keys from every tier and every instance's L1. */
export async function deleteKeys(
  ctx: InvalidationContext,
  keysInput: string | readonly string[],
): Promise<void> {
  const keys = typeof keysInput === 'string' ? [keysInput] : [...keysInput]
  for (const key of keys) assertKey(key)
  for (const key of keys) ctx.loads.invalidateKey(key)
  ctx.signals.invalidated({ keys, source: 'local' })
  const { store } = ctx
  if (!store) return
  await propagate(ctx, { keys, tags: [] }, () => store.delete(keys))
}

/** Removes every entry carrying one of `tags`, everywhere. */
export async function invalidateTags(ctx: InvalidationContext, tags: readonly string[]): Promise<void> {
  assertTags(tags)
  const list = [...tags]
  if (list.length === 0) return
  ctx.loads.invalidateTags(list)
  ctx.signals.invalidated({ tags: list, source: 'local' })
  const { store } = ctx
  if (!store) return
  await propagate(ctx, { keys: [], tags: list }, () => store.invalidateTags(list))
}

/** Removes the key `<type>:<id>` and every entry tagged with it. */
export async function invalidateEntity(
  ctx: InvalidationContext,
  type: string,
  id: string | number,
): Promise<void> {
  const tag = entityTag(type, id)
  assertKey(type)
  assertKey(tag)
  ctx.loads.invalidateTags([tag])
  ctx.loads.invalidateKey(tag)
  ctx.signals.invalidated({ keys: [tag], tags: [tag], source: 'local' })
  const { store } = ctx
  if (!store) return
  await propagate(ctx, { keys: [tag], tags: [tag] }, () =>
    Promise.all([store.delete([tag]), store.invalidateTags([tag])]),
  )
}

/**
 * Runs the Redis part, then the bus part; what fails goes to auto-recovery (which
 * rethrows under the 'throw' policy), one operation per key and per tag.
 */
async function propagate(
  ctx: InvalidationContext,
  targets: { keys: readonly string[]; tags: readonly string[] },
  inRedis: () => Promise<unknown>,
): Promise<void> {
  const { keys, tags } = targets
  const { recovery, signals } = ctx
  const at = ctx.clock.now()
  const operations = (stored?: 'applied'): RecoveryOp[] => [
    ...keys.map((key): RecoveryOp => ({ operation: 'delete', key, at, stored })),
    ...tags.map((tag): RecoveryOp => ({ operation: 'invalidate-tags', tag, at, stored })),
  ]
  const recover = (error: unknown, stored?: 'applied') => {
    if (!recovery) throw error
    for (const op of operations(stored)) recovery.failed(op, error)
  }
  try {
    await inRedis()
  } catch (error) {
    signals.storeError(tags.length > 0 ? 'invalidateTags' : 'delete', error)
    return recover(error)
  }
  const message = {
    keys: keys.length > 0 ? [...keys] : undefined,
    tags: tags.length > 0 ? [...tags] : undefined,
  }
  try {
    await ctx.coherence.send(message)
  } catch (error) {
    signals.storeError('publish', error)
    recover(error, 'applied')
  }
}
