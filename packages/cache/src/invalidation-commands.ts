// The cache's explicit invalidations (`delete`, `invalidateTags`, `invalidateEntity`):
// each applies locally first (L1 and the loads in flight), then in Redis, then on the bus.

import type { CacheSignals } from './cache-signals.js'
import { entityTag } from './entity.js'
import { assertKey, assertTags } from './entry.js'
import type { L1 } from './l1.js'
import type { L1Coherence } from './l1-coherence.js'
import type { LoadRegistry } from './load-registry.js'
import type { Recovery, RecoveryOp } from './recovery.js'
import type { RedisStore } from './redis-store.js'
import type { Cache } from './types.js'

export interface InvalidationCommandsOptions {
  l1: L1
  store: RedisStore | undefined
  registry: Pick<LoadRegistry, 'invalidations' | 'markKey'>
  signals: Pick<CacheSignals, 'invalidatedEvent' | 'storeError'>
  /** Tells the other instances, rejecting on failure. */
  send: L1Coherence['send']
  /** Queues (or refuses) what Redis or the bus did not take; `undefined` without Redis. */
  recovery: Recovery | undefined
  now(): number
}

export type InvalidationCommands = Pick<Cache, 'delete' | 'invalidateTags' | 'invalidateEntity'>

export function createInvalidationCommands(deps: InvalidationCommandsOptions): InvalidationCommands {
  const { l1, store, send, recovery } = deps
  const { invalidations, markKey } = deps.registry
  const { invalidatedEvent, storeError } = deps.signals

  /**
   * Runs the Redis part, then the bus part; what fails goes to auto-recovery (which
   * rethrows under the 'throw' policy), one operation per key and per tag.
   */
  async function propagate(
    keys: readonly string[],
    tags: readonly string[],
    inRedis: () => Promise<unknown>,
  ): Promise<void> {
    const at = deps.now()
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
      storeError(tags.length > 0 ? 'invalidateTags' : 'delete', error)
      return recover(error)
    }
    const message = {
      keys: keys.length > 0 ? [...keys] : undefined,
      tags: tags.length > 0 ? [...tags] : undefined,
    }
    try {
      await send(message)
    } catch (error) {
      storeError('publish', error)
      recover(error, 'applied')
    }
  }

  return {
    async delete(keysInput: string | readonly string[]): Promise<void> {
      const keys = typeof keysInput === 'string' ? [keysInput] : [...keysInput]
      for (const key of keys) assertKey(key)
      for (const key of keys) markKey(key)
      invalidatedEvent({ keys, source: 'local' })
      if (!store) return
      await propagate(keys, [], () => store.delete(keys))
    },

    async invalidateTags(tags: readonly string[]): Promise<void> {
      assertTags(tags)
      const list = [...tags]
      if (list.length === 0) return
      invalidations.invalidateTags(list)
      l1.deleteTagged(new Set(list))
      invalidatedEvent({ tags: list, source: 'local' })
      if (!store) return
      await propagate([], list, () => store.invalidateTags(list))
    },

    async invalidateEntity(type: string, id: string | number): Promise<void> {
      const tag = entityTag(type, id)
      assertKey(type)
      assertKey(tag)
      invalidations.invalidateTags([tag])
      markKey(tag)
      l1.deleteTagged(new Set([tag]))
      invalidatedEvent({ keys: [tag], tags: [tag], source: 'local' })
      if (!store) return
      await propagate([tag], [tag], () => Promise.all([store.delete([tag]), store.invalidateTags([tag])]))
    },
  }
}
