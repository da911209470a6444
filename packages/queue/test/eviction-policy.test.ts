import type { Logger } from '@headroom/core'
import {
  type RedisCluster,
  type RedisServer,
  redisServerAvailable,
  startRedisCluster,
  startRedisServer,
  waitUntil,
} from '@headroom/testing'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createQueue, type Queue, type QueueOptions } from '../src/index.js'

interface Logged {
  level: 'debug' | 'info' | 'warn' | 'error'
  fields: Record<string, unknown>
  message: string
}

function recordingLogger(): { logger: Logger; logged: Logged[] } {
  const logged: Logged[] = []
  const at =
    (level: Logged['level']) =>
    (fields: unknown, message?: unknown): void => {
      if (typeof fields === 'string') logged.push({ level, fields: {}, message: fields })
      else logged.push({ level, fields: fields as Record<string, unknown>, message: String(message) })
    }
  const logger: Logger = {
    trace: () => {},
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  }
  return { logger, logged }
}

describe.runIf(redisServerAvailable())('maxmemory-policy check on a throwaway redis-server', () => {
  const servers: RedisServer[] = []
  const clients: (Redis | Cluster)[] = []
  const queues: Queue[] = []
  afterAll(async () => {
    for (const queue of queues) await queue.close()
    for (const client of clients) client.disconnect()
    for (const server of servers) await server.close()
  })

  async function serverWith(args: string[]): Promise<RedisServer> {
    const server = await startRedisServer({ args })
    servers.push(server)
    return server
  }

  function clientOf(server: RedisServer, options: RedisOptions = {}): Redis {
    const client = new Redis(server.url, options)
    client.on('error', () => {})
    clients.push(client)
    return client
  }

  function queueOn(redis: Redis | Cluster, options: Partial<QueueOptions> = {}) {
    const { logger, logged } = recordingLogger()
    const events: unknown[] = []
    const queue = createQueue({ name: 'evict', redis, logger, ...options })
    queue.on('eviction-policy', (event) => events.push(event))
    queues.push(queue)
    return { queue, logged, events }
  }

  it('warns (log and event) when the server may evict keys, and still takes jobs', async () => {
    const server = await serverWith(['--maxmemory-policy', 'allkeys-lru'])
    const { queue, logged, events } = queueOn(clientOf(server))
    await queue.ready()
    expect(events).toEqual([{ node: `127.0.0.1:${server.port}`, policy: 'allkeys-lru', refused: false }])
    const warnings = logged.filter((entry) => entry.level === 'warn')
    expect(warnings).toHaveLength(1)
    expect(warnings[0]!.message).toMatch(/maxmemory-policy is "allkeys-lru".*"noeviction"/)
    expect(await queue.add('job', { n: 1 })).toBeTruthy()
  })

  it("refuses adds under evictionPolicy: 'refuse', with a clear error and nothing written", async () => {
    const server = await serverWith(['--maxmemory-policy', 'volatile-lru'])
    const redis = clientOf(server)
    const { queue, events } = queueOn(redis, { evictionPolicy: 'refuse' })
    const message = /maxmemory-policy is "volatile-lru" on 127\.0\.0\.1:\d+.*"noeviction"/
    await expect(queue.ready()).rejects.toThrow(message)
    await expect(queue.add('job', { n: 1 })).rejects.toMatchObject({ code: 'E_EVICTION_POLICY' })
    await expect(queue.addBulk([{ name: 'job', data: {} }])).rejects.toThrow(message)
    expect(await redis.dbsize()).toBe(0)
    expect(events).toEqual([{ node: `127.0.0.1:${server.port}`, policy: 'volatile-lru', refused: true }])

    // Fixed on the server: the check after the next reconnect lifts the refusal.
    await redis.config('SET', 'maxmemory-policy', 'noeviction')
    redis.disconnect(true)
    await waitUntil(
      () =>
        queue.ready().then(
          () => true,
          () => false,
        ),
      { what: 'the refusal to lift after the reconnect', timeoutMs: 10_000 },
    )
    expect(await queue.add('job', { n: 2 })).toBeTruthy()
  })

  it('says nothing on noeviction', async () => {
    const server = await serverWith(['--maxmemory-policy', 'noeviction'])
    const { queue, logged, events } = queueOn(clientOf(server), { evictionPolicy: 'refuse' })
    await queue.ready()
    expect(await queue.add('job', { n: 1 })).toBeTruthy()
    expect(events).toEqual([])
    expect(logged.filter((entry) => entry.level === 'warn')).toEqual([])
  })

  it('reads the policy from INFO where CONFIG is disabled', async () => {
    const server = await serverWith(['--maxmemory-policy', 'allkeys-lfu', '--rename-command', 'CONFIG', ''])
    const { queue, events } = queueOn(clientOf(server))
    await queue.ready()
    expect(events).toEqual([{ node: `127.0.0.1:${server.port}`, policy: 'allkeys-lfu', refused: false }])
  })

  it('logs a note and goes on where neither CONFIG nor INFO answers, even under refuse', async () => {
    const server = await serverWith([
      '--maxmemory-policy',
      'allkeys-lru',
      '--rename-command',
      'CONFIG',
      '',
      '--rename-command',
      'INFO',
      '',
    ])
    // ioredis' ready check runs INFO; this server refuses it.
    const { queue, logged, events } = queueOn(clientOf(server, { enableReadyCheck: false }), {
      evictionPolicy: 'refuse',
    })
    await queue.ready()
    expect(await queue.add('job', { n: 1 })).toBeTruthy()
    expect(events).toEqual([])
    const notes = logged.filter((entry) => /could not read maxmemory-policy/.test(entry.message))
    expect(notes).toHaveLength(1)
    expect(notes[0]!.level).toBe('info')
  })

  it("checks nothing under evictionPolicy: 'ignore'", async () => {
    const server = await serverWith(['--maxmemory-policy', 'allkeys-lru'])
    const { queue, logged, events } = queueOn(clientOf(server), { evictionPolicy: 'ignore' })
    await queue.ready()
    expect(await queue.add('job', { n: 1 })).toBeTruthy()
    expect(events).toEqual([])
    expect(logged.filter((entry) => entry.level === 'warn')).toEqual([])
  })

  describe('on a Cluster', () => {
    let cluster: RedisCluster | undefined
    afterAll(async () => {
      await cluster?.close()
    })

    it('checks every master, not only the one holding the queue', async () => {
      cluster = await startRedisCluster()
      const connect = () => {
        const client = new Cluster(cluster!.startupNodes)
        client.on('error', () => {})
        clients.push(client)
        return client
      }
      const quiet = queueOn(connect(), { evictionPolicy: 'refuse' })
      await quiet.queue.ready()
      expect(quiet.events).toEqual([])

      // The queue's keys sit in the slot of {hq:evict}; make a master that does not own it evict.
      const probe = connect()
      await probe.set('{hq:evict}:probe', '1')
      const owner = probe.slots[Number(await probe.cluster('KEYSLOT', '{hq:evict}'))]![0]!
      const other = cluster.nodes.find((node) => `${node.host}:${node.port}` !== owner)!
      const admin = clientOf(other)
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru')

      const warned = queueOn(connect())
      await warned.queue.ready()
      await waitUntil(() => warned.events.length > 0, { what: 'the eviction-policy event', timeoutMs: 5000 })
      expect(warned.events).toEqual([
        { node: `127.0.0.1:${other.port}`, policy: 'allkeys-lru', refused: false },
      ])

      const refused = queueOn(connect(), { evictionPolicy: 'refuse' })
      await expect(refused.queue.add('job', {})).rejects.toMatchObject({ code: 'E_EVICTION_POLICY' })
    })
  })
})
