// A user with ioredis installed: every Redis-backed component takes the same client.
import { createBreaker } from '@headroom/breaker'
import { createCache } from '@headroom/cache'
import { type RedisClient, requestPathRedisOptions } from '@headroom/core'
import { createQueue } from '@headroom/queue'
import { createRateLimiter } from '@headroom/rate-limit'
import { Cluster, Redis } from 'ioredis'

export function wire(url: string) {
  const redis: RedisClient = new Redis(url, { ...requestPathRedisOptions, lazyConnect: true })
  const cluster: RedisClient = new Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true })
  return {
    cache: createCache({ redis, prefix: 'consumer', ttl: 60_000 }),
    limiter: createRateLimiter({ redis: cluster, prefix: 'consumer', limit: 10, window: '1s' }),
    jobs: createQueue({ name: 'consumer', redis, names: ['greet'] }),
    breaker: createBreaker(async (n: number) => n, { shared: { redis, name: 'consumer' } }),
  }
}
