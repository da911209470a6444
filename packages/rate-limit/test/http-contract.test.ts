import { afterEach } from 'vitest'
import type { RateLimiter } from '../src/index.js'
import { describeRateLimitContract } from './http-contract.js'
import { serverFactories } from './http-servers.js'

const limiters: RateLimiter[] = []
afterEach(async () => {
  await Promise.all(limiters.splice(0).map((l) => l.close()))
})
const track = (limiter: RateLimiter) => {
  limiters.push(limiter)
  return limiter
}

for (const server of serverFactories) describeRateLimitContract(server, track)
