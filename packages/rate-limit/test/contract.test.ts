import { describeRedis } from '@headroom/testing'
import { describe } from 'vitest'
import { createMemoryStore, createRateLimiter, type MemoryStore } from '../src/index.js'
import { storeContract } from './contract.js'

describe('store contract [memory]', () => {
  // One memory store per namespace, shared by the limiters of a test (like one Redis).
  const stores = new Map<string, MemoryStore>()
  storeContract((options, namespace) => {
    let store = stores.get(namespace)
    if (store === undefined) {
      store = createMemoryStore({ clock: options.clock })
      stores.set(namespace, store)
    }
    return createRateLimiter({ ...options, store })
  })
})

describeRedis('store contract', (target) => {
  const redis = target.client()
  const prefix = target.prefix('rl')
  storeContract((options, namespace) =>
    createRateLimiter({
      ...options,
      redis,
      prefix: `${prefix}:${namespace}`,
      time: 'client',
      timeout: 2_000,
    }),
  )
})
