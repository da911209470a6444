import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import {
  compositeStrategy,
  createBalancer,
  createHashRing,
  createShardRouter,
  directoryStrategy,
  rangeStrategy,
  type ShardSpec,
} from '../src/index.js'
import { createShardMover, createTopologyStore } from '../src/postgres.js'
import { registerShardMetrics } from '../src/prometheus.js'

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

  it('the strategies, reportLag, the metrics and the Postgres mover and store refuse unknown keys too', async () => {
    expect(() => rangeStrategy({ ranges: [{ from: 0, shard: 'a' }], fallbak: 'a' } as never)).toThrow(
      'Invalid rangeStrategy option "fallbak": unknown option; did you mean "fallback"?',
    )
    expect(() => directoryStrategy({ entries: { fr: 'a' }, keyof: String } as never)).toThrow(
      /Invalid directoryStrategy option "keyof": unknown option/,
    )
    expect(() =>
      compositeStrategy({ group: String, hashKey: String, groups: { eu: ['a'] }, fallbacks: 'eu' } as never),
    ).toThrow(/Invalid compositeStrategy option "fallbacks": unknown option/)
    const router = createShardRouter({ shards: [{ id: 'a', primary: 'p', replicas: ['r'] }] })
    expect(() => router.reportLag('r', 10, { replayed: 1 } as never)).toThrow(
      /Invalid reportLag option "replayed": unknown option/,
    )
    expect(() => registerShardMetrics(new Registry(), { router: { a: router } } as never)).toThrow(
      /Invalid registerShardMetrics option "router": unknown option; did you mean "routers"\?/,
    )
    expect(() =>
      createShardMover({ connectionString: 'postgres://x', tables: ['t'], maxPause: 10 } as never),
    ).toThrow(/Invalid createShardMover option "maxPause": unknown option; did you mean "maxPauseMs"\?/)
    expect(() => createShardMover({ connectionString: 'postgres://x', tables: [] })).toThrow(
      /Invalid createShardMover option "tables": expected at least one table/,
    )
    expect(() => createTopologyStore({ connectionString: 'postgres://x', nmae: 'x' } as never)).toThrow(
      /Invalid createTopologyStore option "nmae": unknown option; did you mean "name"\?/,
    )
    const mover = createShardMover({ connectionString: 'postgres://127.0.0.1:1/none', tables: ['t'] })
    await expect(mover.run(1, { sginal: undefined } as never)).rejects.toThrow(
      /Invalid run option "sginal": unknown option; did you mean "signal"\?/,
    )
    await mover.close()
  })
})
