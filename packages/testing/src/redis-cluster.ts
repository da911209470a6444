import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { type RedisServer, startRedisServer } from './redis-server.js'

const run = promisify(execFile)

export interface RedisClusterOptions {
  /** @default 3 */
  masters?: number
  /** Replicas per master (the fault suite fails a master over to its replica). @default 0 */
  replicasPerMaster?: number
  /** Node timeout: how fast a dead master is failed over. @default 2000 */
  nodeTimeoutMs?: number
}

/** A Redis Cluster of throwaway servers on spare ports. */
export interface RedisCluster {
  readonly nodes: RedisServer[]
  /** `host:port` of every node, for `new Cluster(...)`. */
  readonly startupNodes: { host: string; port: number }[]
  close(): Promise<void>
}

/**
 * Starts a Redis Cluster (3 masters by default) on spare ports and waits until every
 * node reports `cluster_state:ok`.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3
  const replicas = options.replicasPerMaster ?? 0
  const nodeTimeout = String(options.nodeTimeoutMs ?? 2_000)
  const nodes: RedisServer[] = []
  try {
    for (let i = 0; i < masters * (1 + replicas); i++) {
      nodes.push(
        await startRedisServer({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            nodeTimeout,
          ],
        }),
      )
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...nodes.map((node) => `${node.host}:${node.port}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ])
    await waitForClusterOk(nodes)
  } catch (error) {
    await Promise.all(nodes.map((node) => node.close()))
    throw error
  }
  return {
    nodes,
    startupNodes: nodes.map((node) => ({ host: node.host, port: node.port })),
    async close() {
      await Promise.all(nodes.map((node) => node.close()))
    },
  }
}

async function waitForClusterOk(nodes: RedisServer[], ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  const clients = nodes.map(
    (node) => new Redis(node.port, node.host, { lazyConnect: true, maxRetriesPerRequest: 0 }),
  )
  try {
    while (Date.now() < deadline) {
      const infos = await Promise.all(clients.map((client) => client.cluster('INFO').catch(() => '')))
      if (infos.every((info) => String(info).includes('cluster_state:ok'))) return
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`Redis Cluster did not reach cluster_state:ok within ${ms} ms`)
  } finally {
    for (const client of clients) client.disconnect()
  }
}
