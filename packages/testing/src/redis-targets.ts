import { randomBytes } from 'node:crypto'
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis'
import { afterAll, describe } from 'vitest'
import { deleteKeysWithPrefixes } from './delete-keys.js'
import { clusterNodes, redisUrl, serviceMissing } from './services.js'

/** Where a Redis-backed suite runs: the shared standalone server or the test Cluster. */
export interface RedisTarget {
  readonly kind: 'standalone' | 'cluster'
  /** A new client to this target; every client made here is closed after the suite. */
  client(options?: RedisOptions & ClusterOptions): Redis | Cluster
  /** A key prefix no other test (or run) uses, e.g. `t:cache:3f9a1c`; its keys are deleted after the suite. */
  prefix(label?: string): string
}

/** A unique key prefix for one test. */
export function uniquePrefix(label = 't'): string {
  return `t:${label}:${randomBytes(5).toString('hex')}`
}

function standaloneAvailable(): boolean {
  return process.env.HEADROOM_TEST_REDIS === '1'
}

function makeTarget(kind: RedisTarget['kind']): RedisTarget {
  const clients: (Redis | Cluster)[] = []
  const issued: string[] = []
  // Registered before the suite's own hooks, so (hooks run as a stack) it runs after them:
  // whatever the suite started against these prefixes has stopped by then.
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.quit().catch(() => client.disconnect())))
    const where =
      kind === 'cluster'
        ? { kind: 'cluster' as const, nodes: clusterNodes() }
        : { kind: 'standalone' as const, url: redisUrl() }
    await deleteKeysWithPrefixes(where, issued).catch(() => {
      // Cleanup is best effort: every test's prefix is unique, so leftovers never collide.
    })
  })
  return {
    kind,
    client(options = {}) {
      const client =
        kind === 'cluster'
          ? new Cluster(clusterNodes(), { ...options, redisOptions: { ...options.redisOptions } })
          : new Redis(redisUrl(), options)
      client.on('error', () => {})
      clients.push(client)
      return client
    },
    prefix(label) {
      const prefix = uniquePrefix(label)
      issued.push(prefix)
      return prefix
    },
  }
}

/**
 * Declares a suite once per Redis target: `standalone` and `cluster` (unless
 * `{ cluster: false }`). A missing target skips with a loud notice, or fails under
 * `CI=true`.
 *
 * @example
 * describeRedis('script', (target) => {
 *   it('runs', async () => {
 *     const redis = target.client()
 *     expect(await redis.ping()).toBe('PONG')
 *   })
 * })
 */
export function describeRedis(
  name: string,
  body: (target: RedisTarget) => void,
  options: { cluster?: boolean; standalone?: boolean } = {},
): void {
  if (options.standalone !== false) {
    if (standaloneAvailable() || serviceMissing('Redis', `nothing answers at ${redisUrl()}`)) {
      describe(`${name} [redis standalone]`, () => body(makeTarget('standalone')))
    } else {
      describe.skip(`${name} [redis standalone: no Redis]`, () => body(makeTarget('standalone')))
    }
  }
  if (options.cluster !== false) {
    if (clusterNodes().length > 0 || serviceMissing('Redis Cluster', 'redis-server is not installed')) {
      describe(`${name} [redis cluster]`, () => body(makeTarget('cluster')))
    } else {
      describe.skip(`${name} [redis cluster: none]`, () => body(makeTarget('cluster')))
    }
  }
}

/** True when the shared standalone Redis answered at start; logs (or, in CI, throws) otherwise. */
export function redisAvailable(): boolean {
  return standaloneAvailable() || serviceMissing('Redis', `nothing answers at ${redisUrl()}`)
}

/** True when the test Cluster is up; logs (or, in CI, throws) otherwise. */
export function clusterAvailable(): boolean {
  return clusterNodes().length > 0 || serviceMissing('Redis Cluster', 'redis-server is not installed')
}
