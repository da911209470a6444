import { Cluster, Redis } from 'ioredis'

/**
 * Deletes every key holding one of `prefixes` (anywhere in the key, so hash-tagged
 * `{t:cache:3f9a1c}:x` keys count) on the shared standalone server or on each master of
 * the test Cluster. Suites give each test a unique prefix; durable keys (a queue's jobs)
 * carry no expiry, so without this every run would leave them behind.
 */
export async function deleteKeysWithPrefixes(
  target: { kind: 'standalone'; url: string } | { kind: 'cluster'; nodes: { host: string; port: number }[] },
  prefixes: readonly string[],
): Promise<number> {
  if (prefixes.length === 0) return 0
  const client =
    target.kind === 'cluster'
      ? new Cluster(target.nodes, { lazyConnect: true })
      : new Redis(target.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  client.on('error', () => {})
  let deleted = 0
  try {
    await client.connect()
    const nodes = client instanceof Cluster ? client.nodes('master') : [client]
    for (const node of nodes) {
      let cursor = '0'
      do {
        // Every test prefix starts with `t:`; the exact prefixes are matched here.
        const [next, keys] = await node.scan(cursor, 'MATCH', '*t:*', 'COUNT', 1000)
        cursor = next
        const ours = keys.filter((key) => prefixes.some((prefix) => key.includes(prefix)))
        // One key per UNLINK: on a Cluster the keys of one node span many slots.
        if (ours.length > 0) {
          const pipeline = node.pipeline()
          for (const key of ours) pipeline.unlink(key)
          await pipeline.exec()
          deleted += ours.length
        }
      } while (cursor !== '0')
    }
  } finally {
    client.disconnect()
  }
  return deleted
}
