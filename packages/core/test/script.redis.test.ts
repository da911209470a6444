import {
  describeRedis,
  redisServerAvailable,
  startRedisCluster,
  startRedisServer,
  waitUntil,
} from '@headroom/testing'
import { Cluster, Redis } from 'ioredis'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isTimeoutError } from '../src/errors.js'
import { hashTaggedKey } from '../src/redis/keys.js'
import { requestPathClusterOptions, requestPathRedisOptions } from '../src/redis/options.js'
import { defineScript, runScript } from '../src/redis/script.js'
import { isCluster, type RedisClient } from '../src/redis/types.js'
import { createCommandTimeout } from '../src/time/timeout.js'

// Touches two keys of one entity: on a Cluster this only works because they share a hash tag.
const incrBoth = defineScript(
  'core-test-incr-both',
  `
  local a = redis.call('INCRBY', KEYS[1], ARGV[1])
  local b = redis.call('INCRBY', KEYS[2], ARGV[1])
  redis.call('PEXPIRE', KEYS[1], 60000)
  redis.call('PEXPIRE', KEYS[2], 60000)
  return {a, b}
`,
)

async function flushScripts(client: RedisClient): Promise<void> {
  const nodes = isCluster(client) ? client.nodes('master') : [client]
  await Promise.all(nodes.map((node) => node.script('FLUSH')))
}

async function scriptLoadedSomewhere(client: RedisClient, sha: string): Promise<boolean> {
  const nodes = isCluster(client) ? client.nodes('master') : [client]
  const answers = await Promise.all(nodes.map((node) => node.script('EXISTS', sha) as Promise<number[]>))
  return answers.some(([exists]) => exists === 1)
}

describeRedis('runScript', (target) => {
  it('runs a script over hash-tagged keys of one slot', async () => {
    const redis = target.client()
    const prefix = target.prefix('script')
    const keys = [hashTaggedKey(prefix, 'u1', 'a'), hashTaggedKey(prefix, 'u1', 'b')]
    expect(await runScript(redis, incrBoth, keys, [2])).toEqual([2, 2])
    expect(await runScript(redis, incrBoth, keys, [3])).toEqual([5, 5])
    expect(await redis.pttl(keys[0]!)).toBeGreaterThan(0)
  })

  it('reloads the script after NOSCRIPT (a flushed or restarted server)', async () => {
    const redis = target.client()
    const prefix = target.prefix('noscript')
    const keys = [hashTaggedKey(prefix, 'u1', 'a'), hashTaggedKey(prefix, 'u1', 'b')]
    await runScript(redis, incrBoth, keys, [1])
    await flushScripts(redis)
    expect(await scriptLoadedSomewhere(redis, incrBoth.sha)).toBe(false)
    // EVALSHA now fails with NOSCRIPT; runScript must fall back to EVAL and succeed.
    expect(await runScript(redis, incrBoth, keys, [1])).toEqual([2, 2])
    expect(await scriptLoadedSomewhere(redis, incrBoth.sha)).toBe(true)
  })

  it('passes script errors through', async () => {
    const redis = target.client()
    const broken = defineScript('core-test-broken', "return redis.call('NOSUCHCOMMAND')")
    await expect(runScript(redis, broken, [hashTaggedKey(target.prefix(), 'x')])).rejects.toThrow(
      /Unknown Redis command|unknown command/i,
    )
  })
})

describe.skipIf(!redisServerAvailable())('command timeout while Redis is down', () => {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown) => unhandled.push(reason)
  beforeEach(() => {
    unhandled.length = 0
    process.on('unhandledRejection', onUnhandled)
  })
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled)
  })

  async function expectSettlesWithinTimeout(call: () => Promise<unknown>, timeoutMs: number) {
    const started = performance.now()
    const outcome = await call().then(
      () => 'resolved',
      (error: unknown) => error,
    )
    const elapsed = performance.now() - started
    // Either ioredis failed fast or our timeout fired; never a hang (ioredis alone would wait
    // for its reconnects). The margin is generous: the machine is shared and noisy.
    expect(elapsed).toBeLessThan(timeoutMs + 1_000)
    return outcome
  }

  it('standalone: settles within the timeout with the offline queue on, then recovers', async () => {
    const server = await startRedisServer()
    const redis = new Redis(server.port, server.host, requestPathRedisOptions)
    redis.on('error', () => {})
    const timeout = createCommandTimeout(50)
    const key = hashTaggedKey('t:core', 'down', 'n')
    try {
      expect(await runScript(redis, incrBoth, [key, `${key}:b`], [1])).toEqual([1, 1])
      await server.stop()
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, () =>
          expectSettlesWithinTimeout(
            () => timeout.run(runScript(redis, incrBoth, [key, `${key}:b`], [1])),
            50,
          ),
        ),
      )
      for (const outcome of outcomes) expect(outcome).toBeInstanceOf(Error)
      expect(outcomes.some((outcome) => isTimeoutError(outcome))).toBe(true)

      await server.start()
      await waitUntil(
        () =>
          timeout.run(runScript(redis, incrBoth, [key, `${key}:b`], [1])).then(
            () => true,
            () => false,
          ),
        { timeoutMs: 10_000, intervalMs: 50, what: 'the client to reconnect' },
      )
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(unhandled).toEqual([])
    } finally {
      timeout.close()
      redis.disconnect()
      await server.close()
    }
  })

  it('cluster: settles within the timeout while a master is down', async () => {
    const cluster = await startRedisCluster({ nodeTimeoutMs: 60_000 })
    const redis = new Cluster(cluster.startupNodes, requestPathClusterOptions)
    redis.on('error', () => {})
    const timeout = createCommandTimeout(50)
    try {
      // One key per master, so one of them lives on the node we stop.
      const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((id) => hashTaggedKey('t:core', id, 'n'))
      // Warm-up without the 50 ms bound: the client first discovers the slots.
      for (const key of keys) await runScript(redis, incrBoth, [key, `${key}:b`], [1])
      await cluster.nodes[0]!.stop()
      const outcomes = await Promise.all(
        keys.map((key) =>
          expectSettlesWithinTimeout(
            () => timeout.run(runScript(redis, incrBoth, [key, `${key}:b`], [1])),
            50,
          ),
        ),
      )
      expect(outcomes.some((outcome) => outcome instanceof Error)).toBe(true)
      await new Promise((resolve) => setTimeout(resolve, 100))
      expect(unhandled).toEqual([])
    } finally {
      timeout.close()
      redis.disconnect()
      await cluster.close()
    }
  })
})
