import {
  createTestDatabase,
  postgresAvailable,
  startTcpProxy,
  type TcpProxy,
  type TestDatabase,
  waitUntil,
} from '@headroom/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../src/server.js'
import { client, newUser, sampleProfile, startTestApp } from './helpers.js'

const REDIS_URL = process.env.HEADROOM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

// Two instances of the app behind one balancer: A reaches Redis directly, B through a
// TCP proxy the test black-holes, so B alone loses Redis (a network partition) while
// A keeps serving from it. Same databases, same cache prefix. (Standalone Redis only:
// the app's Cluster configuration has no address translation a per-node proxy needs;
// @headroom/cache's own suite runs the partition on the Cluster.)
describe.skipIf(!postgresAvailable())('corp-astro when one instance loses Redis (partition)', () => {
  let db: TestDatabase
  let proxy: TcpProxy
  let a: RunningServer
  let b: RunningServer

  beforeAll(async () => {
    db = await createTestDatabase('astro_partition')
    const target = new URL(REDIS_URL)
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) })
    const env = {
      DATABASE_URL: db.url,
      REDIS_PREFIX: `astro-partition-${Math.random().toString(36).slice(2, 8)}`,
      PG_POOL_MAX: '4',
      JWT_SECRET: 'a-secret-both-instances-share-000000000',
    }
    a = await startTestApp({ ...env, REDIS_URL })
    b = await startTestApp({ ...env, REDIS_URL: `redis://127.0.0.1:${proxy.port}` })
  }, 120_000)

  afterAll(async () => {
    await Promise.all([a?.close(2_000), b?.close(2_000)])
    await proxy?.close()
    await db?.drop()
  }, 60_000)

  it('keeps a profile edit made on the partitioned instance: every instance serves it after the heal', async () => {
    const user = await newUser(a.url, 'partition')
    const onA = client(a.url)
    const onB = client(b.url)
    const created = await onA.post('/api/business-profiles', sampleProfile, user.token)
    expect(created.status).toBe(201)
    const path = `/api/business-profiles/${created.body.id}`
    // Both instances hold the profile in their L1 (and L2 has it).
    expect((await onA.get(path, user.token)).body.location).toBe('Lisbon')
    expect((await onB.get(path, user.token)).body.location).toBe('Lisbon')

    proxy.hang()
    try {
      // B still serves (its L1, local limits) and acknowledges the edit: the database has it.
      const edited = await onB.patch(path, { location: 'Porto' }, user.token)
      expect(edited.status).toBe(200)
      expect(edited.body.location).toBe('Porto')
      expect((await onB.get(path, user.token)).body.location).toBe('Porto')
    } finally {
      // The path recovers: the connections the hang held are reset and B reconnects.
      proxy.pass()
      proxy.reset()
    }
    await waitUntil(async () => b.ctx.redis?.status === 'ready', { timeoutMs: 15_000, what: 'B reconnects' })
    // Once B has Redis back, both instances serve the acknowledged edit, and keep serving it.
    await waitUntil(
      async () =>
        (await onA.get(path, user.token)).body.location === 'Porto' &&
        (await onB.get(path, user.token)).body.location === 'Porto',
      {
        timeoutMs: 15_000,
        intervalMs: 250,
        what: 'A and B to serve the edit made on B during the partition',
      },
    )
    for (let i = 0; i < 5; i++) {
      expect((await onA.get(path, user.token)).body.location).toBe('Porto')
      expect((await onB.get(path, user.token)).body.location).toBe('Porto')
    }
    // A fresh instance (cold L1) reads it from L2 as well.
    const c = await startTestApp({
      DATABASE_URL: db.url,
      REDIS_URL,
      REDIS_PREFIX: a.ctx.config.redis.prefix,
      JWT_SECRET: 'a-secret-both-instances-share-000000000',
    })
    try {
      expect((await client(c.url).get(path, user.token)).body.location).toBe('Porto')
    } finally {
      await c.close(2_000)
    }
  }, 90_000)
})
