import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis'
import { clusterNodes, redisUrl } from './services.js'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js'

/** A client whose every connection to Redis goes through TCP proxies the test controls. */
export interface PartitionedRedis {
  readonly client: Redis | Cluster
  /** Cuts every connection and refuses new ones: this client alone loses Redis. */
  cut(): Promise<void>
  /** Accepts and forwards again. */
  heal(): Promise<void>
  /** Keeps connections open but forwards nothing (replies never come). */
  hang(): void
  /** Forwards again after `hang()`; what the hang held back is dropped. */
  pass(): void
  /** Cuts live connections but keeps listening. */
  reset(): void
  /** Closes the client and the proxies. */
  close(): Promise<void>
}

/**
 * One client cut off from the shared test Redis (standalone) or Cluster while the other
 * clients of the test keep theirs: a network partition of one instance. On a Cluster every
 * node gets a proxy and ioredis' `natMap` sends the client (the bus duplicates included)
 * through them, since the nodes announce their own addresses.
 *
 * @example
 * const a = await startPartitionedRedis('standalone', requestPathRedisOptions)
 * await a.cut() // a.client's commands now fail; other clients are unaffected
 */
export async function startPartitionedRedis(
  kind: 'standalone' | 'cluster',
  options: RedisOptions & ClusterOptions = {},
): Promise<PartitionedRedis> {
  const proxies: TcpProxy[] = []
  let client: Redis | Cluster
  if (kind === 'standalone') {
    const url = new URL(redisUrl())
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 6379) })
    proxies.push(proxy)
    client = new Redis({ ...options, host: '127.0.0.1', port: proxy.port })
  } else {
    const nodes = clusterNodes()
    const natMap: Record<string, { host: string; port: number }> = {}
    for (const node of nodes) {
      const proxy = await startTcpProxy(node)
      proxies.push(proxy)
      natMap[`${node.host}:${node.port}`] = { host: '127.0.0.1', port: proxy.port }
    }
    client = new Cluster(
      proxies.map((proxy) => ({ host: '127.0.0.1', port: proxy.port })),
      { ...options, natMap, redisOptions: { ...options.redisOptions } },
    )
  }
  client.on('error', () => {})
  return {
    client,
    async cut() {
      await Promise.all(proxies.map((proxy) => proxy.close()))
    },
    async heal() {
      await Promise.all(proxies.map((proxy) => proxy.open()))
    },
    hang() {
      for (const proxy of proxies) proxy.hang()
    },
    pass() {
      for (const proxy of proxies) proxy.pass()
    },
    reset() {
      for (const proxy of proxies) proxy.reset()
    },
    async close() {
      client.disconnect()
      await Promise.all(proxies.map((proxy) => proxy.close()))
    },
  }
}
