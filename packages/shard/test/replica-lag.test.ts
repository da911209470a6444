import { waitUntil } from '@headroom/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createShardRouter, type ReplicaLagProbe, type ShardRouter, watchReplicaLag } from '../src/index.js'
import { type StreamingPair, startStreamingPair } from './fixtures/streaming-replica.js'

// A real streaming replica: a primary cluster and a pg_basebackup -R copy of it, both
// started here on spare ports and removed after the suite.
describe('replica lag measured on a real streaming replica', () => {
  let pair: StreamingPair | undefined
  let primary: pg.Pool
  let replica: pg.Pool
  let unavailable: string | undefined
  const routers: ReplicaLagProbe<pg.Pool>[] = []

  beforeAll(async () => {
    try {
      pair = await startStreamingPair()
    } catch (error) {
      if (process.env.CI === 'true') throw error
      unavailable = error instanceof Error ? error.message : String(error)
      console.warn(
        `[shard] replica lag tests skipped: the streaming replica could not be started (${unavailable})`,
      )
      return
    }
    primary = new pg.Pool({ connectionString: pair.primaryUrl, max: 4 })
    replica = new pg.Pool({ connectionString: pair.replicaUrl, max: 4 })
    primary.on('error', () => {})
    replica.on('error', () => {})
    await primary.query('create table items (id serial primary key, owner text not null, body text)')
    await waitUntil(
      async () => (await replica.query("select to_regclass('items') as t")).rows[0].t !== null,
      {
        what: 'the replica to replay the table',
      },
    )
  }, 120_000)

  afterAll(async () => {
    for (const probe of routers) probe.close()
    await primary?.end()
    await replica?.end()
    await pair?.stop()
  }, 60_000)

  const setup = (options: { maxReplicaLagMs: number; readYourWritesMs?: number }) => {
    const router = createShardRouter<pg.Pool>({
      shards: [{ id: 'only', primary, replicas: [replica] }],
      ...options,
    })
    const probe = watchReplicaLag(router, { intervalMs: 100 })
    routers.push(probe)
    return { router, probe }
  }
  const readTarget = (router: ShardRouter<pg.Pool>, session?: string) =>
    router.route('k', session === undefined ? {} : { session }).target

  it('keeps a caught-up replica of an idle primary in rotation, and a paused one out until it resumes', async (ctx) => {
    if (unavailable) ctx.skip()
    const { router, probe } = setup({ maxReplicaLagMs: 1000 })
    await primary.query("insert into items (owner) values ('warm-up')")
    await waitUntil(async () => (await probe.check())[0]?.lagMs === 0, { what: 'the replica to catch up' })
    expect(readTarget(router)).toBe(replica)

    // Idle primary: the last replayed commit ages past maxReplicaLagMs, yet nothing is missing.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const { rows } = await replica.query(
      'select extract(epoch from now() - pg_last_xact_replay_timestamp()) * 1000 as ms',
    )
    expect(Number(rows[0].ms)).toBeGreaterThan(1000)
    const [idle] = await probe.check()
    expect(idle).toMatchObject({ lagMs: 0, paused: false })
    expect(router.isHealthy(replica)).toBe(true)
    expect(readTarget(router)).toBe(replica)

    await replica.query('select pg_wal_replay_pause()')
    try {
      await waitUntil(async () => (await probe.check())[0]?.paused === true, {
        what: 'the probe to see the pause',
      })
      expect(router.isHealthy(replica)).toBe(false)
      expect(readTarget(router)).toBe(primary)
      // Writes the paused replica does not see: it stays out.
      await primary.query("insert into items (owner) values ('while-paused')")
      await probe.check()
      expect(readTarget(router)).toBe(primary)
    } finally {
      await replica.query('select pg_wal_replay_resume()')
    }
    await waitUntil(() => router.isHealthy(replica), { what: 'the schedule to put the replica back' })
    expect(readTarget(router)).toBe(replica)
    expect(probe.lags()[0]).toMatchObject({ lagMs: 0, paused: false })
  })

  it('measures lag by WAL position: a replica applying 2 s late leaves the rotation and returns', async (ctx) => {
    if (unavailable) ctx.skip()
    const { router, probe } = setup({ maxReplicaLagMs: 700 })
    await replica.query("alter system set recovery_min_apply_delay = '2s'")
    await replica.query('select pg_reload_conf()')
    try {
      await primary.query("insert into items (owner) values ('delayed')")
      // pg_reload_conf() only signals: keep writing until the delay holds replay back.
      await waitUntil(
        async () => {
          await primary.query("insert into items (owner) values ('delayed')")
          return !router.isHealthy(replica)
        },
        { what: 'the lag to pass 700 ms', timeoutMs: 10_000, intervalMs: 100 },
      )
      expect(probe.lags()[0]!.lagMs).toBeGreaterThan(700)
      expect(probe.lags()[0]!.paused).toBe(false)
      expect(readTarget(router)).toBe(primary)
    } finally {
      await replica.query('alter system reset recovery_min_apply_delay')
      await replica.query('select pg_reload_conf()')
    }
    await waitUntil(() => router.isHealthy(replica), { what: 'the replica to catch up', timeoutMs: 10_000 })
    expect(readTarget(router)).toBe(replica)
  })

  it('a session that wrote reads its write: from the primary until the replica replayed past it', async (ctx) => {
    if (unavailable) ctx.skip()
    // The replica stays in rotation (lag under 60 s) while it replays 1.5 s late.
    const { router, probe } = setup({ maxReplicaLagMs: 60_000, readYourWritesMs: 50 })
    await replica.query("alter system set recovery_min_apply_delay = '1500ms'")
    await replica.query('select pg_reload_conf()')
    try {
      await waitUntil(
        async () => {
          await primary.query("insert into items (owner) values ('delayed')")
          return ((await probe.check())[0]?.lagMs ?? 0) > 300
        },
        { what: 'the apply delay to hold replay back', timeoutMs: 10_000, intervalMs: 100 },
      )
      const owner = `session-${Date.now()}`
      await router.run(
        'k',
        (db) => db.query('insert into items (owner, body) values ($1, $2)', [owner, 'mine']),
        { write: true, session: owner },
      )
      const seen: string[] = []
      let servedByReplica = false
      let servedByPrimary = false
      // Every read of the session, past its 50 ms window, sees the row, wherever it goes.
      await waitUntil(
        async () => {
          await probe.check()
          const target = readTarget(router, owner)
          const { rows } = await target.query('select body from items where owner = $1', [owner])
          seen.push(rows[0]?.body ?? 'missing')
          if (target === replica) servedByReplica = true
          else servedByPrimary = true
          return servedByReplica
        },
        { what: 'the session to be served by the replica', timeoutMs: 15_000, intervalMs: 100 },
      )
      expect(new Set(seen)).toEqual(new Set(['mine']))
      expect(servedByPrimary).toBe(true)
      expect(seen.length).toBeGreaterThan(3)
      // Meanwhile a session that wrote nothing read the replica all along.
      expect(readTarget(router, 'someone-else')).toBe(replica)
    } finally {
      await replica.query('alter system reset recovery_min_apply_delay')
      await replica.query('select pg_reload_conf()')
    }
  })
})
