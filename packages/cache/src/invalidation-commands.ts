// The cache's explicit invalidations (`delete`, `invalidateTags`, `invalidateEntity`):
// each applies locally first (L1 and the loads in flight), then in Redis, then on the bus.

import type { CacheSignals } from './cache-signals.js'
import { entityTag } from './entity.js'
import { assertKey, assertTags } from './entry.js'
import type { L1 } from './l1.js'
import type { L1Coherence } from './l1-coherence.js'
import type { LoadRegistry } from './load-registry.js'
import type { RedisStore } from './redis-store.js'
import type { Cache } from './types.js'

export interface InvalidationCommandsOptions {
  l1: L1
  store: RedisStore | undefined
  registry: Pick<LoadRegistry, 'invalidations' | 'markKey'>
  signals: Pick<CacheSignals, 'invalidatedEvent'>
  publish: L1Coherence['publish']
}

export type InvalidationCommands = Pick<Cache, 'delete' | 'invalidateTags' | 'invalidateEntity'>

export function createInvalidationCommands(deps: InvalidationCommandsOptions): InvalidationCommands {
  const { l1, store, publish } = deps
  const { invalidations, markKey } = deps.registry
  const { invalidatedEvent } = deps.signals

  return {
    async delete(keysInput: string | readonly string[]): Promise<void> {
      const keys = typeof keysInput === 'string' ? [keysInput] : [...keysInput]
      for (const key of keys) assertKey(key)
      for (const key of keys) markKey(key)
      invalidatedEvent({ keys, source: 'local' })
      if (!store) return
      await store.delete(keys)
      await publish({ keys })
    },

    async invalidateTags(tags: readonly string[]): Promise<void> {
      assertTags(tags)
      const list = [...tags]
      if (list.length === 0) return
      invalidations.invalidateTags(list)
      l1.deleteTagged(new Set(list))
      invalidatedEvent({ tags: list, source: 'local' })
      if (!store) return
      await store.invalidateTags(list)
      await publish({ tags: list })
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
      await Promise.all([store.delete([tag]), store.invalidateTags([tag])])
      await publish({ keys: [tag], tags: [tag] })
    },
  }
}
