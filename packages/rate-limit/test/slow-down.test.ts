import { requestPathClusterOptions, requestPathRedisOptions } from '@headroom/core'
import {
  describeRedis,
  hasRedisServer,
  type RedisCluster,
  type RedisServer,
  startRedisCluster,
  startRedisServer,
  waitUntil,
} from '@headroom/testing'
import { Cluster, Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRateLimiter, type RateLimiter, type RateLimiterOptions } from '../src/index.js'
import {
  type NeutralSlowDownOptions,
  type SlowDownServerFactory,
  slowDownServers,
} from './slow-down-servers.js'

// The slowDown contract: every test runs on each framework (Express, Fastify 5, Hono, a
// plain fetch handler), over the one framework-neutral core.

const closers: (() => Promise<void>)[] = []
const limiters: RateLimiter[] = []
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()))
  await Promise.all(limiters.splice(0).map((l) => l.close()))
})

interface SlowDownInfo {
  hits: number
  delayAfter: number
  delayMs: number
}

/** An app whose only route answers what slowDown decided for the request. */
async function serveOn(server: SlowDownServerFactory, options: NeutralSlowDownOptions): Promise<string> {
  limiters.push(options.limiter)
  const app = await server.serve(options)
  closers.push(app.close)
  return app.url
}

async function hit(url: string): Promise<{ status: number; info: SlowDownInfo; ms: number; res: Response }> {
  const started = performance.now()
  const res = await fetch(url)
  const body = await res.text()
  const ms = performance.now() - started
  return {
    status: res.status,
    info: res.ok ? (JSON.parse(body) as SlowDownInfo) : ({} as SlowDownInfo),
    ms,
    res,
  }
}

const counter = (options: Partial<RateLimiterOptions>) =>
  createRateLimiter({ algorithm: 'fixed-window', limit: 1, window: '1m', timeout: 2000, ...options })

for (const server of slowDownServers) {
  describeRedis(`slowDown() on Redis [${server.name}]`, (target) => {
    it("counts every instance's hits together: two apps share one budget", async () => {
      const prefix = target.prefix('slow')
      const a = await serveOn(server, {
        limiter: counter({ redis: target.client(), prefix }),
        delayAfter: 2,
        delayMs: 10,
      })
      const b = await serveOn(server, {
        limiter: counter({ redis: target.client(), prefix }),
        delayAfter: 2,
        delayMs: 10,
      })
      const seen: SlowDownInfo[] = []
      for (const url of [a, b, a, b, a]) seen.push((await hit(url)).info)
      expect(seen.map((s) => s.hits)).toEqual([1, 2, 3, 4, 5])
      expect(seen.map((s) => s.delayMs)).toEqual([0, 0, 10, 20, 30])
    })
  })

  describe(`slowDown() on a blocked key [${server.name}]`, () => {
    it('a request under delayAfter passes at once; past it each waits (hits - delayAfter) x delayMs, capped at maxDelayMs', async () => {
      const url = await serveOn(server, { limiter: counter({}), delayAfter: 2, delayMs: 40, maxDelayMs: 60 })
      const seen: { delayMs: number; ms: number }[] = []
      for (let i = 0; i < 4; i++) {
        const { info, ms } = await hit(url)
        seen.push({ delayMs: info.delayMs, ms })
        expect(info.delayAfter).toBe(2)
      }
      expect(seen.map((s) => s.delayMs)).toEqual([0, 0, 40, 60])
      // Held at least the delay it reports (a bound on behaviour, not on speed).
      expect(seen[2]!.ms).toBeGreaterThanOrEqual(35)
      expect(seen[3]!.ms).toBeGreaterThanOrEqual(55)
    })

    it('refuses bad options with the option named', async () => {
      const tokens = counter({ algorithm: 'token-bucket' })
      limiters.push(tokens)
      await expect(server.serve({ limiter: tokens, delayAfter: 1 })).rejects.toThrow(
        /"limiter": expected a fixed-window or sliding-window limiter/,
      )
      const hits = counter({})
      limiters.push(hits)
      await expect(server.serve({ limiter: hits, delayAfter: -1 })).rejects.toThrow(/"delayAfter"/)
    })

    it('holds a client blocked with block() for the longest delay, from the store and from the fast path', async () => {
      const limiter = counter({})
      const url = await serveOn(server, { limiter, delayAfter: 5, delayMs: 10, maxDelayMs: 30 })
      await limiter.block('client', 60_000)
      for (let i = 0; i < 2; i++) expect((await hit(url)).info.delayMs).toBe(30)
    })
  })
}

/**
 * What each `onStoreError` mode does once Redis is gone, on a throwaway server and on a
 * throwaway Cluster that the test stops.
 */
function storeStoppedSuite(
  label: string,
  start: () => Promise<{
    client: () => Redis | Cluster
    stop: () => Promise<void>
    close: () => Promise<void>
  }>,
) {
  describe.skipIf(!hasRedisServer())(`slowDown() when Redis stops [${label}]`, () => {
    let env: Awaited<ReturnType<typeof start>>
    type Urls = { local: string; localDefault: string; open: string; closed: string }
    const urls = new Map<string, Urls>()

    beforeAll(async () => {
      env = await start()
      const make = async (
        server: SlowDownServerFactory,
        mode: 'local' | 'open' | 'closed',
        extra: Partial<NeutralSlowDownOptions> = {},
      ) => {
        const limiter = counter({
          redis: env.client(),
          prefix: `stop-${server.name}-${mode}-${Object.keys(extra).length}`,
          // A day-long window: the local counts of one test never straddle a window's end.
          window: '1d',
          onStoreError: mode,
          instances: 2,
          timeout: 200,
        })
        const url = await serveOn(server, { limiter, delayAfter: 4, delayMs: 50, maxDelayMs: 5000, ...extra })
        await waitUntil(async () => (await limiter.peek('warm')).source === 'redis', {
          timeoutMs: 30_000,
          intervalMs: 50,
          what: 'Redis decisions',
        })
        return url
      }
      for (const server of slowDownServers)
        urls.set(server.name, {
          local: await make(server, 'local'),
          localDefault: await make(server, 'local', { maxDelayMs: undefined }),
          open: await make(server, 'open'),
          closed: await make(server, 'closed'),
        })
      // The servers and limiters live for the whole suite, not one test.
      suiteClosers.push(...closers.splice(0), ...limiters.splice(0).map((l) => () => l.close()))
      await env.stop()
    }, 120_000)
    const suiteClosers: (() => Promise<void>)[] = []
    afterAll(async () => {
      await Promise.all(suiteClosers.splice(0).map((close) => close()))
      await env?.close()
    })

    for (const server of slowDownServers) {
      it(`[${server.name}] 'local' keeps counting in this process and estimates the fleet's hits as local x instances`, {
        timeout: 30_000,
      }, async () => {
        const seen: SlowDownInfo[] = []
        for (let i = 0; i < 4; i++) {
          const { info, status, ms } = await hit(urls.get(server.name)!.local)
          expect(status).toBe(200)
          // Never the 5 s maximum: hit 1 is 2 estimated hits, under delayAfter.
          if (i === 0) expect(ms).toBeLessThan(2000)
          seen.push(info)
        }
        // Local hits 1..4, two instances: 2, 4, 6, 8 estimated; delayAfter 4, 50 ms per hit past it.
        expect(seen.map((s) => s.hits)).toEqual([2, 4, 6, 8])
        expect(seen.map((s) => s.delayMs)).toEqual([0, 0, 100, 200])
      })

      it(`[${server.name}] 'local' with the default maxDelayMs (Infinity) delays by the estimate, not by a clamped timer`, {
        timeout: 30_000,
      }, async () => {
        const delays: number[] = []
        for (let i = 0; i < 3; i++) {
          const { info, ms } = await hit(urls.get(server.name)!.localDefault)
          delays.push(info.delayMs)
          if (info.delayMs > 0) expect(ms).toBeGreaterThanOrEqual(info.delayMs - 5)
        }
        expect(delays).toEqual([0, 0, 100])
      })

      it(`[${server.name}] 'open' lets every request through at full speed`, {
        timeout: 30_000,
      }, async () => {
        for (let i = 0; i < 8; i++) {
          const { status, info } = await hit(urls.get(server.name)!.open)
          expect(status).toBe(200)
          expect(info.delayMs).toBe(0)
        }
      })

      it(`[${server.name}] 'closed' refuses at once with 503 and Retry-After instead of holding the request`, {
        timeout: 30_000,
      }, async () => {
        for (let i = 0; i < 3; i++) {
          const { status, ms, res } = await hit(urls.get(server.name)!.closed)
          expect(status).toBe(503)
          expect(res.headers.get('retry-after')).toBe('1')
          expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/)
          expect(ms).toBeLessThan(2000)
        }
      })
    }
  })
}

storeStoppedSuite('redis-server', async () => {
  const server: RedisServer = await startRedisServer()
  const clients: Redis[] = []
  return {
    client: () => {
      const client = new Redis(server.url, requestPathRedisOptions)
      client.on('error', () => {})
      clients.push(client)
      return client
    },
    stop: () => server.stop(),
    close: async () => {
      for (const client of clients) client.disconnect()
      await server.close()
    },
  }
})

storeStoppedSuite('Redis Cluster', async () => {
  const cluster: RedisCluster = await startRedisCluster()
  const clients: Cluster[] = []
  return {
    client: () => {
      const client = new Cluster(cluster.startupNodes, requestPathClusterOptions)
      client.on('error', () => {})
      clients.push(client)
      return client
    },
    stop: async () => {
      await Promise.all(cluster.nodes.map((node) => node.stop()))
    },
    close: async () => {
      for (const client of clients) client.disconnect()
      await cluster.close()
    },
  }
})
