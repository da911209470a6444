// A memory-only user of @headroom/cache: L1 only, no ioredis installed.
import { type Cache, createCache } from '@headroom/cache'

async function main(): Promise<void> {
  const cache: Cache = createCache({ prefix: 'consumer', ttl: 60_000, l1: { max: 100 } })
  const value = await cache.getOrSet('content:leo', async () => ({ text: 'a good day' }))
  const again = await cache.get<{ text: string }>('content:leo')
  if (value.text !== 'a good day' || again?.text !== 'a good day') throw new Error('cache lost the value')
  await cache.close()
}

main().then(
  () => console.log('ok cache (memory)'),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
