import {
  createTestDatabase,
  postgresAvailable,
  startTcpProxy,
  type TcpProxy,
  type TestDatabase,
  waitUntil,
} from '@headroom/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../src/server.js'
import { newUser, sampleProfile, startTestApp } from './helpers.js'

type User = Awaited<ReturnType<typeof newUser>>

function postgresConfig(app: RunningServer) {
  const { database } = app.ctx.config
  if (database.kind !== 'postgres') throw new Error('expected Postgres')
  return database
}

/** The adaptive sizer of shard 3's pool, as the app manages it. */
function shardSizer(app: RunningServer) {
  const sizer = app.ctx.pools.stats().sizers['shard-3']
  if (!sizer) throw new Error('expected a pool sizer for shard-3 (Headroom on, Postgres)')
  return sizer
}

/** How long one answer may take: the documented bound of a database call plus a margin for a busy machine. */
function answerBoundMs(app: RunningServer): number {
  const database = postgresConfig(app)
  return database.connectTimeoutMs + database.queryTimeoutMs + 1_500
}

/**
 * A request that gives up after `abortMs` (15 s), so a hang shows as a failed expectation,
 * not a stuck test.
 */
async function timedPatch(app: RunningServer, user: User, name: string, abortMs = 15_000) {
  const started = Date.now()
  const response = await fetch(`${app.url}/api/users/me`, {
    method: 'PATCH',
    headers: {
      authorization: `Bearer ${user.token}`,
      'content-type': 'application/json',
      'x-forwarded-for': user.http.ip,
    },
    body: JSON.stringify({ name }),
    signal: AbortSignal.timeout(abortMs),
  }).catch((error: unknown) => ({ status: 0, headers: new Headers(), error: (error as Error).name }))
  return {
    status: response.status,
    error: 'error' in response ? response.error : undefined,
    retryAfter: response.headers.get('retry-after'),
    type: response.headers.get('content-type') ?? '',
    ms: Date.now() - started,
  }
}

// Main + 4 shard databases; shard 3 is reached through a TCP proxy the test makes hang
// (connections accepted, nothing answered) or slow, the way a network path or an
// overloaded server fails without refusing anything.
describe.skipIf(!postgresAvailable())('corp-astro when one shard database hangs or is slow', () => {
  let databases: TestDatabase[] = []
  let proxy: TcpProxy
  let app: RunningServer
  const onHungShard: User[] = []
  const elsewhere: User[] = []

  beforeAll(async () => {
    databases = await Promise.all(
      ['main', 's0', 's1', 's2', 's3'].map((label) => createTestDatabase(`astro_hang_${label}`)),
    )
    const target = new URL(databases[4]!.url)
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
    const viaProxy = new URL(databases[4]!.url)
    viaProxy.hostname = '127.0.0.1'
    viaProxy.port = String(proxy.port)
    app = await startTestApp({
      DATABASE_URL: databases[0]!.url,
      SHARD_DATABASE_URLS: [...databases.slice(1, 4).map((db) => db.url), viaProxy.toString()].join(','),
      PG_POOL_MAX: '4',
    })
    // Users land on shards by id: register until each side has a few.
    while (onHungShard.length < 3 || elsewhere.length < 3) {
      const user = await newUser(app.url, 'hang')
      const side = app.ctx.shards.forUser(user.id).name === 'shard-3' ? onHungShard : elsewhere
      if (side.length < 3) side.push(user)
    }
  }, 120_000)

  afterEach(() => proxy?.pass())

  afterAll(async () => {
    await proxy?.close()
    await app?.close(2_000)
    await Promise.all(databases.map((db) => db.drop()))
  }, 60_000)

  it('keeps serving users of the other shards (>= 99 % success) while one shard hangs under steady load', async () => {
    // Free users (the first to be shed) on every shard, one request a second each, sent
    // on a schedule whether or not the last one was answered, as real clients arrive.
    const users: User[] = []
    while (users.filter((u) => app.ctx.shards.forUser(u.id).name === 'shard-3').length < 8)
      users.push(await newUser(app.url, 'steady'))
    const hung = new Set(users.filter((u) => app.ctx.shards.forUser(u.id).name === 'shard-3'))
    const outcomes = { others: [] as number[], hung: [] as number[] }
    const noAnswer: string[] = []
    proxy.hang()
    const until = Date.now() + 15_000
    const inFlight: Promise<void>[] = []
    while (Date.now() < until) {
      for (const user of users) {
        inFlight.push(
          timedPatch(app, user, 'steady', 30_000).then((answer) => {
            ;(hung.has(user) ? outcomes.hung : outcomes.others).push(answer.status)
            if (answer.status === 0) noAnswer.push(`${answer.error} after ${answer.ms} ms`)
          }),
        )
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000))
    }
    await Promise.all(inFlight)
    const ok = outcomes.others.filter((status) => status === 200).length
    const refused = outcomes.others.filter((status) => status !== 200)
    // The hung shard's users are answered 503 (its dependency is down), not shed or hung.
    expect(new Set(outcomes.hung), `no answer: ${noAnswer.join('; ')}`).toEqual(new Set([503]))
    expect(
      ok / outcomes.others.length,
      `other shards: ${ok} of ${outcomes.others.length} succeeded, refused: ${JSON.stringify(refused)}; status ${app.ctx.health.status()}`,
    ).toBeGreaterThanOrEqual(0.99)
  }, 120_000)

  for (const mode of ['hang', 'slow'] as const) {
    it(`answers only that shard's users, with 503 + Retry-After within the timeouts, when it is ${mode === 'hang' ? 'hung' : 'slow (2 s per chunk)'}; its pool connections are released`, async () => {
      const bound = answerBoundMs(app)
      const sizerBefore = shardSizer(app)
      if (mode === 'hang') proxy.hang()
      else proxy.slow(2_000)
      // More requests at once than the shard's pool has connections (4), each user twice.
      const [hung, others] = await Promise.all([
        Promise.all([...onHungShard, ...onHungShard].map((user, i) => timedPatch(app, user, `h${i}`))),
        Promise.all([...elsewhere, ...elsewhere].map((user, i) => timedPatch(app, user, `o${i}`))),
      ])
      for (const answer of hung) {
        expect(answer.status).toBe(503)
        expect(answer.retryAfter).toBe('1')
        expect(answer.type).toContain('application/problem+json')
        expect(answer.ms).toBeLessThan(bound)
      }
      expect(others.map((answer) => answer.status)).toEqual(others.map(() => 200))

      // No abandoned query keeps a connection: nothing waits for one, and the pool holds no
      // more than the minimum it keeps trying to open (connections that cannot finish their
      // handshake while the path hangs), not its maximum held by queries nobody waits for.
      const { poolMin } = postgresConfig(app)
      await waitUntil(
        () => {
          const pool = app.ctx.databases.pools()['shard-3']!
          return pool.total <= poolMin && pool.waiting === 0
        },
        { timeoutMs: bound, what: `shard-3's pool to release its connections (${mode})` },
      )

      // The shard's pool sizer saw the abandoned checkouts as drops (its algorithm's
      // congestion signal) and holds the pool at or below its size before the fault.
      const sizerAfter = shardSizer(app)
      expect(
        sizerAfter.checkouts.dropped + sizerAfter.checkouts.acquireFailed,
        `shard-3 sizer checkouts before ${JSON.stringify(sizerBefore.checkouts)}, after ${JSON.stringify(sizerAfter.checkouts)}`,
      ).toBeGreaterThan(sizerBefore.checkouts.dropped + sizerBefore.checkouts.acquireFailed)
      expect(sizerAfter.size).toBeLessThanOrEqual(Math.max(sizerBefore.size, sizerAfter.min))

      // /health names the failing database; /readyz stays up, since another instance would
      // not reach that shard either and draining this one would only widen the outage.
      await waitUntil(
        async () => {
          const health: any = await (await fetch(`${app.url}/health`)).json()
          return health.checks['database:shard-3:responseTime']?.[0]?.status !== 'pass'
        },
        { timeoutMs: 15_000, intervalMs: 250, what: '/health to report shard-3' },
      )
      const health: any = await (await fetch(`${app.url}/health`)).json()
      for (const name of ['main', 'shard-0', 'shard-1', 'shard-2'])
        expect(health.checks[`database:${name}:responseTime`]?.[0]?.status, name).toBe('pass')
      expect(health.checks['database:shard-3:responseTime'][0].output).toMatch(/timeout|timed out/i)
      expect((await fetch(`${app.url}/readyz`)).status).toBe(200)

      // Healed: the shard's users are served again, without a restart, and the pool has
      // nothing checked out once they are answered.
      proxy.pass()
      await waitUntil(async () => (await timedPatch(app, onHungShard[0]!, 'back')).status === 200, {
        timeoutMs: 15_000,
        intervalMs: 250,
        what: `shard-3 users served again after the ${mode}`,
      })
      // A profile write and read on the healed shard (the pool works, not just one connection).
      const user = onHungShard[1]!
      const created = await user.http.post('/api/business-profiles', sampleProfile, user.token)
      expect(created.status).toBe(201)
      expect((await user.http.get(`/api/business-profiles/${created.body.id}`, user.token)).status).toBe(200)
      await waitUntil(
        () => {
          const pool = app.ctx.databases.pools()['shard-3']!
          return pool.total === pool.idle && pool.waiting === 0
        },
        { timeoutMs: 10_000, what: `shard-3's pool idle after the ${mode}` },
      )
    }, 90_000)
  }
})
