// A user of @headroom/pool's standalone limiter: no pg, no generic-pool installed.
import { createAdaptiveLimiter, isLimitExceededError } from '@headroom/pool'

async function main(): Promise<void> {
  const limiter = createAdaptiveLimiter({ algorithm: 'gradient2', min: 1, max: 10, initial: 4 })
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      limiter
        .run(async () => i)
        .catch((error: unknown) => (isLimitExceededError(error) ? -1 : Promise.reject(error))),
    ),
  )
  if (results.filter((n) => n >= 0).length === 0) throw new Error('the limiter ran nothing')
  limiter.close()
}

main().then(
  () => console.log('ok pool (memory)'),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
