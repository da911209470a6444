// Regression tests for the reliability suite's findings (reliability/FINDINGS.md #1-#5).
// Each failed before its fix.
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { StoreUnavailableError } from '@headroom/core'
import {
  createTestDatabase,
  postgresAvailable,
  type RedisServer,
  startRedisServer,
  type TestDatabase,
  waitUntil,
} from '@headroom/testing'
import express, { type Express } from 'express'
import pg from 'pg'
import { pino } from 'pino'
import { pinoHttp } from 'pino-http'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createAnalyticsBuffer } from '../src/analytics/buffer.js'
import type { AnalyticsEvent } from '../src/analytics/repository.js'
import { loadConfig } from '../src/config.js'
import type { Database } from '../src/db/database.js'
import { isDependencyUnavailable, problemHandler } from '../src/http/problem.js'
import { jobHandlers } from '../src/jobs/handlers.js'
import { createLogger } from '../src/logger.js'
import {
  ACKNOWLEDGED_JOB_ATTEMPTS,
  ACKNOWLEDGED_JOBS,
  JOB_RETRY,
  minRetryBudgetMs,
} from '../src/platform/jobs.js'
import { type RunningServer, startServer } from '../src/server.js'
import { newUser, startTestApp } from './helpers.js'

/** Serves `app` on a free port for the duration of `fn`. */
async function withServer<T>(app: Express, fn: (base: string) => Promise<T>): Promise<T> {
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  try {
    return await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
  } finally {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

describe('FINDINGS #1: logs never carry credentials', () => {
  it('redacts authorization, cookie and set-cookie in the pino-http request log', async () => {
    const lines: string[] = []
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    })
    const logger = createLogger({ logLevel: 'info' }, sink)
    const app = express()
    app.use(pinoHttp({ logger }))
    app.get('/me', (_req, res) => {
      res.setHeader('set-cookie', 'session=server-secret-cookie; HttpOnly')
      res.json({ ok: true })
    })
    await withServer(app, async (base) => {
      const res = await fetch(`${base}/me`, {
        headers: { authorization: 'Bearer eyJ.secret-access-token', cookie: 'session=client-secret-cookie' },
      })
      expect(res.status).toBe(200)
      await res.text()
    })
    await waitUntil(() => lines.some((line) => line.includes('request completed')), {
      timeoutMs: 5_000,
      what: 'the request log line',
    })
    const log = lines.join('\n')
    expect(log).toContain('"url":"/me"')
    expect(log).not.toContain('secret-access-token')
    expect(log).not.toContain('client-secret-cookie')
    expect(log).not.toContain('server-secret-cookie')
    expect(log).toContain('[Redacted]')
  })

  it('keeps credentials out of the request log even with an injected logger that has no redact', async () => {
    const lines: string[] = []
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    })
    // A plain pino, the way a host (or a test harness) might inject its own.
    const logger = pino({ level: 'info' }, sink)
    const config = loadConfig({
      NODE_ENV: 'test',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      TRUST_PROXY: 'true',
      ASTRO_LATENCY_MS: '0',
      SHED_EVENT_LOOP_DELAY_MS: '5000',
      SEED: 'false',
    })
    const app = await startServer(config, { logger })
    try {
      const user = await newUser(app.url, 'logs')
      const res = await user.http.request('GET', '/api/users/me?log-check', {
        token: user.token,
        headers: { cookie: 'session=injected-cookie-secret' },
      })
      expect(res.status).toBe(200)
      await waitUntil(() => lines.some((line) => line.includes('/api/users/me?log-check')), {
        timeoutMs: 5_000,
        what: 'the request log line',
      })
      const log = lines.join('\n')
      expect(log).not.toContain(user.token.split('.')[2]!)
      expect(log).not.toContain('injected-cookie-secret')
      expect(log).not.toContain(user.refreshToken)
      expect(log).not.toContain('correct horse battery')
    } finally {
      await app.close(1_000)
    }
  }, 60_000)

  it('redacts passwords and refresh tokens logged by mistake', () => {
    const lines: string[] = []
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    })
    const logger = createLogger({ logLevel: 'info' }, sink)
    logger.info({ body: { email: 'a@b.c', password: 'hunter2-secret', refreshToken: 'rt-secret' } }, 'oops')
    logger.info({ password: 'top-secret', refreshToken: 'rt-top-secret' }, 'oops again')
    const log = lines.join('\n')
    expect(log).toContain('a@b.c')
    expect(log).not.toMatch(/hunter2-secret|rt-secret|top-secret/)
  })
})

describe('FINDINGS #3: dependency outages answer 503 with Retry-After', () => {
  it('maps a real pg connection refusal, pg/Headroom transient errors to 503, and bugs to 500', async () => {
    // A pool on a port nobody listens on: the error pg really raises when a shard is down.
    const pool = new pg.Pool({ host: '127.0.0.1', port: 1, user: 'postgres', connectionTimeoutMillis: 2_000 })
    pool.on('error', () => {})
    const app = express()
    app.get('/refused', async () => {
      await pool.query('SELECT 1')
    })
    const thrown: Record<string, unknown> = {
      terminated: new Error('Connection terminated unexpectedly'),
      'pool-timeout': new Error('timeout exceeded when trying to connect'),
      'admin-shutdown': Object.assign(new Error('terminating connection due to administrator command'), {
        code: '57P01',
      }),
      'class-08': Object.assign(new Error('connection failure'), { code: '08006' }),
      reset: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      store: new StoreUnavailableError(),
      wrapped: new Error('query failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }),
      bug: new TypeError('cannot read properties of undefined'),
      sql: Object.assign(new Error('syntax error'), { code: '42601' }),
    }
    app.get('/throw/:kind', (req) => {
      throw thrown[req.params.kind]
    })
    app.use(problemHandler)
    try {
      await withServer(app, async (base) => {
        const refused = await fetch(`${base}/refused`)
        expect(refused.status).toBe(503)
        expect(refused.headers.get('content-type')).toContain('application/problem+json')
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
        const body = await refused.json()
        expect(body).toMatchObject({ status: 503, title: 'Service Unavailable' })
        expect(JSON.stringify(body)).not.toContain('ECONNREFUSED')
        for (const kind of [
          'terminated',
          'pool-timeout',
          'admin-shutdown',
          'class-08',
          'reset',
          'store',
          'wrapped',
        ]) {
          const res = await fetch(`${base}/throw/${kind}`)
          expect(res.status, kind).toBe(503)
          expect(Number(res.headers.get('retry-after')), kind).toBeGreaterThan(0)
        }
        for (const kind of ['bug', 'sql']) {
          const res = await fetch(`${base}/throw/${kind}`)
          expect(res.status, kind).toBe(500)
          expect(res.headers.get('retry-after'), kind).toBeNull()
        }
      })
    } finally {
      await pool.end()
    }
  })

  it('follows AggregateError members and stops on cyclic causes', () => {
    const aggregate = new AggregateError([Object.assign(new Error('a'), { code: 'ECONNREFUSED' })], 'x')
    expect(isDependencyUnavailable(aggregate)).toBe(true)
    const cyclic: { message: string; cause?: unknown } = { message: 'loop' }
    cyclic.cause = cyclic
    expect(isDependencyUnavailable(cyclic)).toBe(false)
    expect(isDependencyUnavailable(null)).toBe(false)
  })
})

const event = (i: number, userId = 'u'): AnalyticsEvent => ({
  id: `e${i}`,
  userId,
  type: 'view',
  properties: {},
  occurredAt: '2026-01-01T00:00:00Z',
})

describe('FINDINGS #2: a batch whose flush failed is put back, not dropped', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('retries a failed batch on the next tick and delivers every event once the queue is back', async () => {
    vi.useFakeTimers()
    let fail = true
    const delivered: string[] = []
    const buffer = createAnalyticsBuffer({
      flush: async (events) => {
        if (fail) throw new Error('queue down')
        delivered.push(...events.map((e) => e.id))
      },
      intervalMs: 1000,
      batchSize: 1000,
      maxBuffered: 100,
    })
    buffer.push([event(1), event(2), event(3)])
    await vi.advanceTimersByTimeAsync(1000)
    await vi.advanceTimersByTimeAsync(1000)
    expect(buffer.stats()).toMatchObject({ buffered: 3, dropped: 0, failed: 6, requeued: 6 })
    buffer.push([event(4)])
    fail = false
    await vi.advanceTimersByTimeAsync(1000)
    expect(delivered).toEqual(['e1', 'e2', 'e3', 'e4'])
    expect(buffer.stats()).toMatchObject({ buffered: 0, dropped: 0 })
    await buffer.close()
    expect(vi.getTimerCount()).toBe(0)
  })

  it('stays bounded while the queue is down, counting what it could not keep', async () => {
    vi.useFakeTimers()
    const buffer = createAnalyticsBuffer({
      flush: async () => {
        throw new Error('queue down')
      },
      intervalMs: 1000,
      batchSize: 1000,
      maxBuffered: 5,
    })
    buffer.push([event(1), event(2), event(3), event(4)])
    await vi.advanceTimersByTimeAsync(1000)
    expect(buffer.stats()).toMatchObject({ buffered: 4, dropped: 0 })
    buffer.push([event(5), event(6)])
    const stats = buffer.stats()
    expect(stats).toMatchObject({ buffered: 5, dropped: 1 })
    await vi.advanceTimersByTimeAsync(1000)
    expect(buffer.stats()).toMatchObject({ buffered: 5, dropped: 1 })
    // Closing with the queue still down: what is left is counted as lost, not hidden.
    await buffer.close()
    expect(buffer.stats()).toMatchObject({ buffered: 0, lostOnClose: 5 })
  })

  it('enqueue resolves only after the queue took the events and rejects when it cannot', async () => {
    let fail = false
    const buffer = createAnalyticsBuffer({
      flush: async () => {
        if (fail) throw new StoreUnavailableError()
      },
    })
    await buffer.enqueue([event(1)])
    fail = true
    await expect(buffer.enqueue([event(2), event(3)])).rejects.toThrow(StoreUnavailableError)
    expect(buffer.stats()).toMatchObject({ enqueued: 1, refused: 2 })
    await buffer.close()
  })

  it('close hands over a group commit still being gathered', async () => {
    const flushed: string[][] = []
    const buffer = createAnalyticsBuffer({
      flush: async (events) => {
        flushed.push(events.map((e) => e.id))
      },
    })
    const accepted = buffer.enqueue([event(1)])
    await buffer.close()
    expect(flushed).toEqual([['e1']])
    await accepted
  })

  it('enqueue calls in one turn share one job, and all of them learn its outcome', async () => {
    const flushed: string[][] = []
    let fail = false
    const buffer = createAnalyticsBuffer({
      flush: async (events) => {
        flushed.push(events.map((e) => e.id))
        if (fail) throw new StoreUnavailableError()
      },
      batchSize: 4,
    })
    await Promise.all([buffer.enqueue([event(1)]), buffer.enqueue([event(2), event(3)])])
    expect(flushed).toEqual([['e1', 'e2', 'e3']])
    // Past batchSize a new group starts: no job grows beyond it.
    await Promise.all([buffer.enqueue([event(4), event(5), event(6)]), buffer.enqueue([event(7), event(8)])])
    expect(flushed.slice(1)).toEqual([
      ['e4', 'e5', 'e6'],
      ['e7', 'e8'],
    ])
    fail = true
    const outcomes = await Promise.allSettled([buffer.enqueue([event(9)]), buffer.enqueue([event(10)])])
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected'])
    expect(buffer.stats()).toMatchObject({ enqueued: 8, refused: 2 })
    await buffer.close()
  })
})

describe('FINDINGS #4: analytics batches outlive a shard outage', () => {
  it('gives the analytics job a retry budget longer than a minute', () => {
    expect(minRetryBudgetMs(JOB_RETRY, ACKNOWLEDGED_JOB_ATTEMPTS)).toBeGreaterThan(60_000)
    // A report (202) and its notification are acknowledged work too: a 10 s shard outage
    // outlasted the default 5 attempts (7.5 s of backoff) and lost a report.
    expect(minRetryBudgetMs(JOB_RETRY, JOB_RETRY.attempts)).toBeLessThan(10_000)
    expect([...ACKNOWLEDGED_JOBS].sort()).toEqual(['analytics-batch', 'monthly-report', 'notification'])
  })

  it('inserts the healthy shards and re-queues only the failed shard, idempotently', async () => {
    const inserted: Record<string, string[]> = { 'shard-0': [], 'shard-1': [] }
    let shard1Down = true
    const shardDb = (name: 'shard-0' | 'shard-1'): Database => ({
      name,
      schema: 'public',
      async query(_text: string, params?: readonly unknown[]) {
        if (name === 'shard-1' && shard1Down)
          throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
        for (let i = 0; i < (params?.length ?? 0); i += 5) inserted[name]!.push(String(params![i]))
        return []
      },
      migrate: async () => {},
    })
    const dbs = { 'shard-0': shardDb('shard-0'), 'shard-1': shardDb('shard-1') }
    const added: { name: string; data: { events: AnalyticsEvent[] }; options: unknown }[] = []
    const handlers = jobHandlers({
      shards: { forUser: (userId: string) => (userId.startsWith('a') ? dbs['shard-0'] : dbs['shard-1']) },
      jobs: {
        add: async (name: string, data: { events: AnalyticsEvent[] }, options: unknown) => {
          added.push({ name, data, options })
          return 'id'
        },
      },
      logger: { warn() {}, info() {} },
    } as never)
    const signal = new AbortController().signal
    const events = [event(1, 'a1'), event(2, 'b1'), event(3, 'a2'), event(4, 'b2')]

    const result = await handlers['analytics-batch']({ events }, signal)
    expect(result).toEqual({ inserted: 2, requeued: 2 })
    expect(inserted['shard-0']).toEqual(['e1', 'e3'])
    expect(added).toHaveLength(1)
    expect(added[0]!.name).toBe('analytics-batch')
    expect(added[0]!.data.events.map((e) => e.id)).toEqual(['e2', 'e4'])
    expect(added[0]!.options).toMatchObject({ priority: 'LOW', jobId: 'analytics:shard-1:e2' })

    // A re-queued part whose shard is still down fails the job (its retry budget runs)...
    await expect(handlers['analytics-batch'](added[0]!.data, signal)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    })
    expect(added).toHaveLength(1)
    // ...and goes in once the shard is back.
    shard1Down = false
    await handlers['analytics-batch'](added[0]!.data, signal)
    expect(inserted['shard-1']).toEqual(['e2', 'e4'])
  })
})

// #2 and #5 end to end: 202 only once the events sit in Redis; 503 while Redis is down.
describe.skipIf(!postgresAvailable())('FINDINGS #2 + #5: a 202 means the events are durable', () => {
  let db: TestDatabase
  let redis: RedisServer
  let app: RunningServer

  beforeAll(async () => {
    // AOF on: a 202 promises the events survive in Redis, and the test restarts it.
    ;[db, redis] = await Promise.all([
      createTestDatabase('astro_findings'),
      startRedisServer({ appendOnly: true }),
    ])
    app = await startTestApp({ DATABASE_URL: db.url, REDIS_URL: redis.url, PG_POOL_MAX: '4' })
  }, 120_000)

  afterAll(async () => {
    await app?.close(2_000)
    await redis?.close()
    await db?.drop()
  }, 60_000)

  const countEvents = async (userId: string) => {
    const shard = app.ctx.shards.forUser(userId)
    const rows = await shard.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${shard.schema}.analytics_events WHERE user_id = $1`,
      [userId],
    )
    return rows[0]!.n
  }

  it('answers 202 after the job is queued in Redis, 503 + Retry-After while Redis is down', async () => {
    const user = await newUser(app.url, 'durable')
    const accepted = await user.http.post(
      '/api/analytics/events',
      { events: [{ type: 'page.view' }, { type: 'click' }] },
      user.token,
    )
    expect(accepted.status).toBe(202)

    await redis.stop()
    try {
      const refused = await user.http.post(
        '/api/analytics/events',
        { events: [{ type: 'page.view' }] },
        user.token,
      )
      expect(refused.status).toBe(503)
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    } finally {
      await redis.start()
    }
    await waitUntil(async () => app.ctx.redis!.status === 'ready', {
      timeoutMs: 15_000,
      what: 'redis reconnect',
    })

    const again = await user.http.post('/api/analytics/events', { events: [{ type: 'signup' }] }, user.token)
    expect(again.status).toBe(202)
    // Exactly the acknowledged events reach the database: 2 + 1, not the refused one.
    await waitUntil(async () => (await countEvents(user.id)) === 3, {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'the acknowledged events in the shard',
    }).catch(async (error: unknown) => {
      // Say where the events are: in the shard, or still in the queue (waiting, leased, retrying).
      const stats = await app.ctx.jobs.stats().catch((cause: unknown) => String(cause))
      throw new Error(
        `${(error as Error).message}: ${await countEvents(user.id)} of 3 in the shard; jobs: ${JSON.stringify(stats)}`,
      )
    })
    expect(await countEvents(user.id)).toBe(3)
  }, 90_000)
})
