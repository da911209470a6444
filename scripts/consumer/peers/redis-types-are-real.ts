// With ioredis installed the Redis types are ioredis' own, not a fallback that takes anything.
import { createCache } from '@headroom/cache'
import type { RedisClient } from '@headroom/core'

// @ts-expect-error a string is not a Redis client
export const notAClient: RedisClient = 'redis://127.0.0.1:6379'

export const cache = createCache({
  // @ts-expect-error a plain object is not a Redis client
  redis: { get: () => null },
  prefix: 'consumer',
})
