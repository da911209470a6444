// An Express user of the response cache and the rate-limit middleware.
import { createCache } from '@headroom/cache'
import { cacheResponse } from '@headroom/cache/express'
import { createRateLimiter } from '@headroom/rate-limit'
import { ipKey, rateLimit } from '@headroom/rate-limit/express'
import express from 'express'

export function app(): express.Express {
  const cache = createCache({ prefix: 'consumer', ttl: 60_000 })
  const limiter = createRateLimiter({ prefix: 'consumer', limit: 100, window: '1m' })
  const server = express()
  server.use(
    rateLimit({ limiter, key: (req) => req.get('x-user-id') ?? ipKey(req.ip ?? ''), headers: 'draft-8' }),
  )
  server.get('/content/:id', cacheResponse({ cache, ttl: 60_000 }), (req, res) => {
    res.json({ id: req.params.id })
  })
  return server
}
