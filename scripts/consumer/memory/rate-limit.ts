// A memory-only user of @headroom/rate-limit: no ioredis installed.
import { createRateLimiter, type Decision } from '@headroom/rate-limit'

async function main(): Promise<void> {
  const limiter = createRateLimiter({ prefix: 'consumer', limit: 2, window: '1m' })
  const decisions: Decision[] = []
  for (let i = 0; i < 3; i++) decisions.push(await limiter.consume('user:42'))
  const allowed = decisions.map((decision) => decision.allowed).join(',')
  if (allowed !== 'true,true,false') throw new Error(`expected true,true,false, got ${allowed}`)
  await limiter.close()
}

main().then(
  () => console.log('ok rate-limit (memory)'),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
