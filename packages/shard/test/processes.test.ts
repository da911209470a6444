import { execFile } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { murmur3 } from '@headroom/core'
import { describe, expect, it } from 'vitest'
import { createHashRing, createShardRouter } from '../src/index.js'

const run = promisify(execFile)
const here = dirname(fileURLToPath(import.meta.url))

describe('determinism across processes', () => {
  it('a fresh process computes the same shards, ring nodes and layout', async () => {
    const child = await run(process.execPath, ['--import', 'tsx', join(here, 'fixtures/vectors.ts')], {
      cwd: join(here, '..'),
      timeout: 60_000,
      killSignal: 'SIGKILL',
    })
    const remote = JSON.parse(child.stdout) as { shards: string[]; ring: string[]; layout: string }

    const router = createShardRouter({
      shards: Array.from({ length: 16 }, (_, i) => ({
        id: `db-${i}`,
        weight: 1 + (i % 3),
        primary: `pg-${i}`,
      })),
    })
    router.removeShard('db-5')
    router.addShard({ id: 'db-16', primary: 'pg-16' })
    const keys = Array.from({ length: 2000 }, (_, i) => `user:${i}`)
    const ring = createHashRing({ nodes: ['a', 'b', { id: 'c', weight: 2 }] })
    expect(remote.shards).toEqual(keys.map((k) => router.shardFor(k).id))
    expect(remote.ring).toEqual(keys.map((k) => ring.get(k)))
    expect(remote.layout).toBe(router.layout().owners)
    // Published vector: the whole table of this history, pinned by its hash.
    expect(murmur3(remote.layout)).toMatchInlineSnapshot(`2497240926`)
  }, 90_000)
})
