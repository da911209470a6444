import { createTestDatabase, postgresAvailable, type TestDatabase } from '@headroom/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createShardRouter, isShardUnavailableError, mergeSorted, type ShardRouter } from '../src/index.js'

describe.runIf(postgresAvailable())('users sharded across real Postgres databases', () => {
  const databases: TestDatabase[] = []
  const pools: pg.Pool[] = []
  let router: ShardRouter<pg.Pool>

  beforeAll(async () => {
    for (let i = 0; i < 4; i++) {
      const db = await createTestDatabase(`shard_${i}`)
      databases.push(db)
      const pool = new pg.Pool({ connectionString: db.url, max: 2 })
      pools.push(pool)
      await pool.query('create table users (id text primary key, name text not null, created int not null)')
    }
    router = createShardRouter({ shards: pools.map((pool, i) => ({ id: `users-${i}`, primary: pool })) })
  }, 60_000)

  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end().catch(() => {})))
    await Promise.all(databases.map((d) => d.drop()))
  }, 60_000)

  it('writes each user to its shard, reads it back from there, and fans out over all', async () => {
    for (let i = 0; i < 200; i++) {
      const id = `u${i}`
      const { target } = router.route(id, { write: true, session: id })
      await target.query('insert into users (id, name, created) values ($1, $2, $3)', [id, `User ${i}`, i])
    }
    const { target } = router.route('u42', { session: 'u42' })
    const found = await target.query('select name from users where id = $1', ['u42'])
    expect(found.rows).toEqual([{ name: 'User 42' }])

    const counts = await router.forEachShard(async (pool) => {
      const r = await pool.query<{ n: string }>('select count(*) as n from users')
      return Number(r.rows[0]!.n)
    })
    expect(counts.reduce((a, b) => a + b, 0)).toBe(200)
    expect(Math.min(...counts)).toBeGreaterThan(20)

    // Every row lives where shardFor says: a fresh router in another process would agree.
    const placed = await router.forEachShard(async (pool, shard) => {
      const r = await pool.query<{ id: string }>('select id from users')
      return r.rows.filter((row) => router.shardFor(row.id).id !== shard.id).length
    })
    expect(placed).toEqual([0, 0, 0, 0])

    // A cross-shard "newest first" page: fan out, then merge.
    const pages = await router.forEachShard(async (pool) => {
      const r = await pool.query<{ id: string; created: number }>(
        'select id, created from users order by created desc limit 5',
      )
      return r.rows
    })
    const newest = mergeSorted(pages, (a, b) => b.created - a.created, 5)
    expect(newest.map((r) => r.id)).toEqual(['u199', 'u198', 'u197', 'u196', 'u195'])
  })

  it('a shard whose database is ejected fails fast; the others keep serving', async () => {
    const victim = router.shards[1]!
    const key = Array.from({ length: 500 }, (_, i) => `probe${i}`).find(
      (k) => router.shardFor(k).id === victim.id,
    )!
    const other = Array.from({ length: 500 }, (_, i) => `probe${i}`).find(
      (k) => router.shardFor(k).id !== victim.id,
    )!
    // The database goes away (its pool is closed), a breaker notices and ejects it.
    await victim.primary.end()
    await expect(victim.primary.query('select 1')).rejects.toThrow()
    router.eject(victim.primary, 'breaker-open')
    let error: unknown
    try {
      router.route(key, { write: true })
    } catch (e) {
      error = e
    }
    expect(isShardUnavailableError(error)).toBe(true)
    const { target } = router.route(other, { write: true })
    await target.query('insert into users (id, name, created) values ($1, $2, $3)', [
      other,
      'still here',
      1000,
    ])
    await expect(router.forEachShard((pool) => pool.query('select 1'), { write: true })).rejects.toThrow(
      /users-1/,
    )
  })
})
