import { type RedisClient, requestPathClusterOptions, requestPathRedisOptions } from '@headroom/core'
import { Cluster, Redis } from 'ioredis'
import type { Config } from '../config.js'
import type { AppLogger } from '../logger.js'

/**
 * The app's Redis client (standalone or Cluster), or undefined: without Redis every
 * component runs on its memory store in this process.
 */
export function connectRedis(config: Config['redis'], logger: AppLogger): RedisClient | undefined {
  const client = config.clusterNodes
    ? new Cluster(config.clusterNodes, requestPathClusterOptions)
    : config.url
      ? new Redis(config.url, requestPathRedisOptions)
      : undefined
  if (!client) return undefined
  let down = false
  // Without a listener ioredis would crash the process on 'error'; outages are normal here.
  client.on('error', (error: Error) => {
    if (!down) logger.warn({ err: error.message }, 'redis unavailable; components fall back')
    down = true
  })
  client.on('ready', () => {
    if (down) logger.info('redis is back')
    down = false
  })
  return client
}

/** Closes a client without waiting on a dead server. */
export async function closeRedis(client: RedisClient | undefined): Promise<void> {
  if (!client) return
  const timer = setTimeout(() => client.disconnect(), 1_000)
  try {
    await client.quit()
  } catch {
    client.disconnect()
  } finally {
    clearTimeout(timer)
  }
}
