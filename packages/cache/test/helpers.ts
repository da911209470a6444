import type { RedisClient } from '@headroom/core'
import { isCluster } from '@headroom/core'

/** Every key under `prefix` on every master, with its PTTL. */
export async function keysWithTtl(client: RedisClient, prefix: string): Promise<Map<string, number>> {
  const nodes = isCluster(client) ? client.nodes('master') : [client]
  const found = new Map<string, number>()
  for (const node of nodes) {
    let cursor = '0'
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000)
      cursor = next
      for (const key of keys) found.set(key, await node.pttl(key))
    } while (cursor !== '0')
  }
  return found
}

export const deferred = <T>() => {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}
