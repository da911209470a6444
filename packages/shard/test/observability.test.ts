import diagnosticsChannel from 'node:diagnostics_channel'
import { describe, expect, it } from 'vitest'
import { createBalancer, createShardRouter, mergeSorted } from '../src/index.js'

describe('observability and helpers', () => {
  it('publishes topology, eject, readmit and unavailable on headroom:shard:* channels', () => {
    const seen: [string, unknown][] = []
    const names = ['topology', 'eject', 'readmit', 'unavailable'].map((e) => `headroom:shard:${e}`)
    const listeners = names.map((name) => {
      const fn = (message: unknown) => seen.push([name, message])
      diagnosticsChannel.subscribe(name, fn)
      return [name, fn] as const
    })
    try {
      const router = createShardRouter({ shards: [{ id: 'a', primary: 'pa', replicas: ['ra'] }] })
      router.addShard({ id: 'b', primary: 'pb' })
      router.eject('ra')
      router.eject('pa')
      const key = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'].find((k) => router.shardFor(k).id === 'a')!
      expect(() => router.route(key)).toThrow()
      router.readmit('pa')
      const kinds = seen.map(([name]) => name.split(':')[2])
      expect(kinds).toEqual(['topology', 'eject', 'eject', 'unavailable', 'readmit'])
      expect(seen[0]![1]).toMatchObject({ version: 2 })
      expect(seen[2]![1]).toEqual({ id: 'a:primary', reason: 'unhealthy' })
      expect(seen[3]![1]).toEqual({ shard: 'a', write: false })
    } finally {
      for (const [name, fn] of listeners) diagnosticsChannel.unsubscribe(name, fn)
    }
  })

  it('unsubscribing stops events; a throwing listener does not break routing', () => {
    const balancer = createBalancer({ targets: ['a', 'b'] })
    const got: string[] = []
    const off = balancer.on('eject', (e) => got.push(e.id))
    balancer.on('eject', () => {
      throw new Error('listener bug')
    })
    balancer.eject('a')
    off()
    balancer.eject('b')
    expect(got).toEqual(['a'])
    expect(balancer.healthy()).toEqual([])
  })

  it('mergeSorted merges sorted per-shard lists and stops at the limit', () => {
    expect(mergeSorted([[1, 4, 9], [2, 3], [], [5]], (a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 9])
    expect(
      mergeSorted(
        [
          [9, 4],
          [8, 7, 1],
        ],
        (a, b) => b - a,
        3,
      ),
    ).toEqual([9, 8, 7])
    expect(mergeSorted([], (a: number, b: number) => a - b)).toEqual([])
  })
})
