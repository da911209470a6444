import { describe, expect, it } from 'vitest'
import { createBalancer, createHashRing, createShardRouter, type ShardSpec } from '../src/index.js'

const shards: ShardSpec<string>[] = [1, 2].map((i) => ({
  id: `users-${i}`,
  primary: `primary-${i}`,
  replicas: [`replica-${i}`],
}))

describe('options: unknown keys and per-call shapes', () => {
  it('the factories refuse unknown keys at every level, suggesting the known one', () => {
    expect(() => createShardRouter({ shards, logicalshards: 1024 } as never)).toThrow(
      'Invalid createShardRouter option "logicalshards": unknown option; did you mean "logicalShards"?',
    )
    expect(() => createShardRouter({ shards: [{ id: 'a', primary: 'p', replica: ['r'] }] } as never)).toThrow(
      'Invalid createShardRouter option "shards.0.replica": unknown option; did you mean "replicas"?',
    )
    expect(() => createBalancer({ targets: ['a'], strategy: 'round-robin', weigths: {} } as never)).toThrow(
      /Invalid createBalancer option "weigths": unknown option/,
    )
    expect(() => createHashRing({ nodes: ['a'], replica: 10 } as never)).toThrow(
      /Invalid createHashRing option "replica": unknown option/,
    )
  })

  it('route refuses options that are not an object, naming the shape', () => {
    const router = createShardRouter({ shards })
    expect(() => router.route('user:1', true as never)).toThrow(
      'Invalid route options: expected undefined or { write?: boolean, session?: string, tier?: string, clientKey?: string } (received true)',
    )
  })

  it('route refuses an unknown key or a wrong type, so a write never goes to a replica by a typo', () => {
    const router = createShardRouter({ shards })
    expect(() => router.route('user:1', { writes: true } as never)).toThrow(
      'Invalid route option "writes": unknown option; did you mean "write"?',
    )
    expect(() => router.route('user:1', { write: 'yes' } as never)).toThrow(
      'Invalid route option "write": expected boolean (received "yes")',
    )
    expect(() => router.route('user:1', { session: 42 } as never)).toThrow(
      'Invalid route option "session": expected string (received 42)',
    )
    expect(router.route('user:1', { write: true, session: 'u1' }).role).toBe('primary')
    expect(router.route('user:1').role).toBe('replica')
  })

  it('run and forEachShard check their options the same way', async () => {
    const router = createShardRouter({ shards })
    await expect(router.run('user:1', () => 1, { wirte: true } as never)).rejects.toThrow(
      'Invalid run option "wirte": unknown option; did you mean "write"?',
    )
    await expect(router.forEachShard(() => 1, { concurency: 1 } as never)).rejects.toThrow(
      'Invalid forEachShard option "concurency": unknown option; did you mean "concurrency"?',
    )
    expect(await router.forEachShard(() => 1, { write: true, concurrency: 1 })).toEqual([1, 1])
  })
})
