import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { waitUntil } from '@headroom/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createShardRouter } from '../src/index.js'
import {
  createShardMover,
  createTopologyStore,
  isShardMovingError,
  logicalShardFunctionSql,
  logicalShardOf,
  type Move,
  type StoredTopology,
} from '../src/postgres.js'
import {
  type LogicalCluster,
  logicalClusterAvailable,
  startLogicalCluster,
} from './fixtures/logical-cluster.js'

const schema = `
${logicalShardFunctionSql}
CREATE TABLE users (
  id text PRIMARY KEY,
  name text NOT NULL,
  balance integer NOT NULL DEFAULT 0,
  logical_shard integer GENERATED ALWAYS AS (headroom_logical_shard(id, 65536, 0)) STORED
);
CREATE TABLE notes (
  id uuid PRIMARY KEY,
  user_id text NOT NULL,
  body text NOT NULL,
  logical_shard integer GENERATED ALWAYS AS (headroom_logical_shard(user_id, 65536, 0)) STORED
);
`

const here = dirname(fileURLToPath(import.meta.url))

describe.runIf(logicalClusterAvailable())('online shard moves over logical replication', () => {
  let cluster: LogicalCluster
  let control: string
  const urls: string[] = []
  const pools = new Map<string, pg.Pool>()
  const poolOf = (url: string) => {
    let pool = pools.get(url)
    if (!pool) {
      pool = new pg.Pool({ connectionString: url, max: 4 })
      pools.set(url, pool)
    }
    return pool
  }

  beforeAll(async () => {
    cluster = await startLogicalCluster()
    control = await cluster.createDatabase('control')
    for (let i = 0; i < 5; i++) {
      const url = await cluster.createDatabase(`s${i}`)
      await poolOf(url).query(schema)
      urls.push(url)
    }
  }, 120_000)

  afterAll(async () => {
    await Promise.all([...pools.values()].map((p) => p.end().catch(() => {})))
    await cluster?.stop()
  }, 60_000)

  it('computes the logical shard in SQL exactly as the router does', async () => {
    const keys = ['', 'a', 'ab', 'abc', 'abcd', 'email:zoë@example.com', '日本語のキー', '😀x', randomUUID()]
    for (let i = 0; i < 200; i++) keys.push(randomUUID())
    const { rows } = await poolOf(urls[0]!).query<{ k: string; s: number }>(
      'SELECT k, headroom_logical_shard(k, 65536, 0) AS s FROM unnest($1::text[]) k',
      [keys],
    )
    for (const row of rows) expect(row.s, row.k).toBe(logicalShardOf(row.k))
    const seeded = await poolOf(urls[0]!).query<{ s: number }>(
      "SELECT headroom_logical_shard('user-7', 1000, 42) AS s",
    )
    expect(seeded.rows[0]!.s).toBe(logicalShardOf('user-7', 1000, 42))
    const router = createShardRouter({ shards: [{ id: 'a', primary: 1 }], logicalShards: 65536 })
    expect(router.layout().logicalShards).toBe(65536)
  })

  it('adds a fifth database under writes: rows copied, writes kept, routing flipped, sources cleaned', async () => {
    const store = createTopologyStore({ connectionString: control, name: 'users' })
    const initial = await store.init({ shards: urls.slice(0, 4).map((url, i) => ({ id: `s${i}`, url })) })
    let topology: StoredTopology = initial
    let router = routerOf(topology)
    const stopWatching = store.watch(
      (next) => {
        topology = next
        router = routerOf(next)
      },
      { intervalMs: 50, current: initial.version },
    )

    const users = Array.from({ length: 400 }, (_, i) => `user-${i}`)
    for (const id of users) {
      const url = router.shardFor(id).primary
      await poolOf(url).query('INSERT INTO users (id, name) VALUES ($1, $2)', [id, `User ${id}`])
      await poolOf(url).query('INSERT INTO notes (id, user_id, body) VALUES ($1, $2, $3)', [
        randomUUID(),
        id,
        'hi',
      ])
    }
    const expected = new Map(users.map((id) => [id, 0]))

    // Steady writes during the whole move: each increments a user's balance where routing says.
    let writing = true
    let fenced = 0
    const errors: unknown[] = []
    const writer = (async () => {
      let i = 0
      while (writing) {
        const id = users[i++ % users.length]!
        const url = router.shardFor(id).primary
        try {
          const r = await poolOf(url).query('UPDATE users SET balance = balance + 1 WHERE id = $1', [id])
          if (r.rowCount === 1) expected.set(id, expected.get(id)! + 1)
          else errors.push(new Error(`${id} missing on ${url}`))
        } catch (error) {
          if (isShardMovingError(error)) fenced++
          else errors.push(error)
          await new Promise((r) => setTimeout(r, 5))
        }
      }
    })()

    const progress: Move[] = []
    const mover = createShardMover({
      connectionString: control,
      name: 'users',
      tables: ['users', 'notes'],
      pollMs: 20,
      readerTtlMs: 2_000,
      onProgress: (m) => progress.push(m),
    })
    try {
      const move = await mover.addShard({ id: 's4', url: urls[4]! })
      expect(move.batches.map((b) => b.from).sort()).toEqual(['s0', 's1', 's2', 's3'])
      const done = await mover.run(move.id)
      expect(done.status).toBe('completed')
      expect(done.batches.every((b) => b.state === 'cleaned')).toBe(true)
      for (const b of done.batches) expect(b.pauseMs).toBeLessThan(2_000)
      const seen = new Set(progress.flatMap((m) => m.batches.map((b) => b.state)))
      expect([...seen]).toEqual(expect.arrayContaining(['copying', 'catching-up', 'done', 'cleaned']))
    } finally {
      writing = false
      await writer
      await mover.close()
      await stopWatching()
    }
    expect(errors).toEqual([])

    // The stored topology routes each user to the new placement, and every row is there and only there.
    const stored = await store.load()
    await store.close()
    router = routerOf(stored)
    expect(stored.shards.map((s) => s.id)).toEqual(['s0', 's1', 's2', 's3', 's4'])
    const canonical = createShardRouter({ shards: stored.shards.map((s) => ({ id: s.id, primary: s.url })) })
    for (const id of users) expect(router.shardFor(id).id).toBe(canonical.shardFor(id).id)
    let total = 0
    let notes = 0
    for (const url of urls) {
      const rows = (await poolOf(url).query<{ id: string; balance: number }>('SELECT id, balance FROM users'))
        .rows
      total += rows.length
      for (const row of rows) {
        expect(router.shardFor(row.id).primary).toBe(url)
        expect(row.balance, row.id).toBe(expected.get(row.id))
      }
      notes += Number((await poolOf(url).query('SELECT count(*) AS n FROM notes')).rows[0].n)
    }
    expect(total).toBe(users.length)
    expect(notes).toBe(users.length)
    expect(new Set(users.map((id) => router.shardFor(id).id)).has('s4')).toBe(true)
    // Nothing of the move is left on the sources.
    for (const url of urls) {
      const left = await poolOf(url).query(
        `SELECT (SELECT count(*) FROM pg_publication) + (SELECT count(*) FROM pg_replication_slots)
          + (SELECT count(*) FROM pg_subscription) + (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal) AS n`,
      )
      expect(Number(left.rows[0].n)).toBe(0)
    }
    expect(fenced).toBeGreaterThanOrEqual(0)
  }, 120_000)

  it('resumes a move whose mover was killed mid-copy, and routes nobody to a database without their rows', async () => {
    const crashUrls: string[] = []
    for (let i = 0; i < 5; i++) {
      const url = await cluster.createDatabase(`c${i}`)
      await poolOf(url).query(schema)
      crashUrls.push(url)
    }
    const store = createTopologyStore({ connectionString: control, name: 'crash' })
    let topology = await store.init({ shards: crashUrls.slice(0, 4).map((url, i) => ({ id: `c${i}`, url })) })
    const users = Array.from({ length: 3_000 }, (_, i) => `crash-user-${i}`)
    const router = routerOf(topology)
    const byShard = new Map<string, string[]>()
    for (const id of users) {
      const url = router.shardFor(id).primary
      byShard.set(url, [...(byShard.get(url) ?? []), id])
    }
    for (const [url, ids] of byShard)
      await poolOf(url).query('INSERT INTO users (id, name) SELECT id, id FROM unnest($1::text[]) id', [ids])

    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures/run-mover.ts')], {
      env: {
        ...process.env,
        MOVE_CONTROL_URL: control,
        MOVE_NAME: 'crash',
        MOVE_SHARD_ID: 'c4',
        MOVE_SHARD_URL: crashUrls[4]!,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      await waitUntil(
        async () => {
          const { rows } = await poolOf(control).query(
            `SELECT b.state FROM headroom_shard_move_batches b JOIN headroom_shard_moves m ON m.id = b.move_id
             WHERE m.name = 'crash'`,
          )
          return rows.length > 0 && rows.every((r) => r.state === 'copying')
        },
        { timeoutMs: 60_000, intervalMs: 20 },
      )
    } finally {
      child.kill('SIGKILL')
    }
    expect(await exited).toBe(null)

    // While the move is unfinished, every user still routes to a database holding their row.
    topology = await store.load()
    const during = routerOf(topology)
    for (const id of users.slice(0, 300)) {
      const { rows } = await poolOf(during.shardFor(id).primary).query('SELECT 1 FROM users WHERE id = $1', [
        id,
      ])
      expect(rows.length, id).toBe(1)
    }

    const mover = createShardMover({
      connectionString: control,
      name: 'crash',
      tables: ['users', 'notes'],
      pollMs: 20,
      readerTtlMs: 2_000,
    })
    try {
      const move = await mover.running()
      expect(move?.batches.map((b) => b.state)).toEqual(['copying', 'copying', 'copying', 'copying'])
      // addShard again (a restarted admin command) returns the running move instead of planning another.
      expect((await mover.addShard({ id: 'c4', url: crashUrls[4]! })).id).toBe(move!.id)
      const done = await mover.run()
      expect(done.status).toBe('completed')
    } finally {
      await mover.close()
    }
    const after = routerOf(await store.load())
    await store.close()
    let total = 0
    for (const url of crashUrls) {
      const { rows } = await poolOf(url).query<{ id: string }>('SELECT id FROM users')
      total += rows.length
      for (const row of rows) expect(after.shardFor(row.id).primary).toBe(url)
      const left = await poolOf(url).query(
        `SELECT (SELECT count(*) FROM pg_publication) + (SELECT count(*) FROM pg_replication_slots)
          + (SELECT count(*) FROM pg_subscription) + (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal) AS n`,
      )
      expect(Number(left.rows[0].n)).toBe(0)
    }
    expect(total).toBe(users.length)
  }, 120_000)
})

function routerOf(topology: StoredTopology) {
  return createShardRouter({
    shards: topology.shards.map((s) => ({ id: s.id, weight: s.weight, primary: s.url })),
    layout: topology.layout,
  })
}
