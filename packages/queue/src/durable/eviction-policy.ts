// The check of Redis' maxmemory-policy behind a durable queue. Under any policy but
// `noeviction`, a Redis that reaches maxmemory deletes keys to make room, and a queue's
// keys (waiting jobs, leases, fencing tokens) are keys like any other: jobs vanish
// without an error anywhere. The queue cannot prevent that, so it says so at start,
// and under `refuse` writes no job to such a server.
import {
  type CommandTimeout,
  createCommandTimeout,
  type Emitter,
  isCluster,
  type Logger,
  type RedisClient,
} from '@headroom/core'
import type { Redis } from 'ioredis'
import { EvictionPolicyError } from '../shared/errors.js'
import type { QueueEvents } from './queue-types.js'

/** What the queue does when Redis may evict its keys. */
export type EvictionPolicyMode = 'warn' | 'refuse' | 'ignore'

export interface EvictionGuard {
  /** True once the check passed, or when nothing is to be checked: adds need not wait. */
  readonly admitted: boolean
  /** Resolves once the check passed (or could not be made); rejects under `refuse` with an offending policy. */
  ready(): Promise<void>
  /** Stops listening for reconnects. */
  close(): void
}

interface NodePolicy {
  node: string
  /** undefined: the server answers neither CONFIG GET nor INFO. */
  policy: string | undefined
}

const PASSED: EvictionGuard = { admitted: true, ready: () => Promise.resolve(), close: () => {} }

/**
 * Checks `maxmemory-policy` on the server (every master of a Cluster) when the client
 * becomes ready, and again after each reconnect (a failover may land on a server set up
 * differently). Each offending node is logged once at warn and announced by the
 * `eviction-policy` event.
 */
export function createEvictionGuard(options: {
  redis: RedisClient | undefined
  mode: EvictionPolicyMode
  timeoutMs: number
  logger: Logger
  events: Emitter<QueueEvents>
}): EvictionGuard {
  const { redis, mode, logger, events } = options
  if (!redis || mode === 'ignore') return PASSED
  const timeout: CommandTimeout = createCommandTimeout(options.timeoutMs)
  const reported = new Set<string>()
  let refusal: Error | undefined
  let passed = false
  let running: Promise<void> | undefined
  let closed = false

  const judge = (policies: readonly NodePolicy[]) => {
    const unreadable = policies.filter((p) => p.policy === undefined).map((p) => p.node)
    if (unreadable.length > 0 && !reported.has('unreadable')) {
      reported.add('unreadable')
      logger.info(
        { nodes: unreadable },
        'could not read maxmemory-policy (CONFIG and INFO are disabled on this server); make sure it is noeviction, or jobs may be evicted',
      )
    }
    const evicting = policies.filter((p) => p.policy !== undefined && p.policy !== 'noeviction')
    // Each check judges the servers as they are now: a node set back to noeviction (seen
    // after a reconnect) lifts the refusal.
    refusal = undefined
    for (const { node, policy } of evicting) {
      const message = `maxmemory-policy is "${policy}" on ${node}: at maxmemory Redis deletes keys, jobs included, without an error; set it to "noeviction" for a queue`
      if (mode === 'refuse') refusal ??= new EvictionPolicyError(message)
      if (reported.has(`${node}=${policy}`)) continue
      reported.add(`${node}=${policy}`)
      logger.warn({ node, policy }, message)
      events.emit('eviction-policy', { node, policy: policy!, refused: mode === 'refuse' })
    }
    passed = refusal === undefined
  }

  const check = (): Promise<void> => {
    running ??= readPolicies(redis, timeout)
      .then(judge, (error: unknown) => {
        // Unreachable or timed out: unknown yet; the next ready() or reconnect checks again.
        logger.debug({ err: error }, 'maxmemory-policy check failed; retrying on the next connection')
        throw error
      })
      .finally(() => {
        running = undefined
      })
    return running
  }

  const onReady = () => {
    if (closed) return
    check().catch(() => {})
  }
  redis.on('ready', onReady)
  if (redis.status === 'ready') onReady()

  return {
    get admitted() {
      return passed
    },
    async ready() {
      if (refusal) throw refusal
      if (passed) return
      await check()
      if (refusal) throw refusal
    },
    close() {
      closed = true
      redis.off('ready', onReady)
      timeout.close()
    },
  }
}

async function readPolicies(redis: RedisClient, timeout: CommandTimeout): Promise<NodePolicy[]> {
  if (!isCluster(redis)) return [await readPolicy(redis, timeout)]
  // Slots move between masters (resharding, failover): any master may hold the queue later.
  if (redis.status !== 'ready') {
    let onReady = () => {}
    const ready = new Promise<void>((resolve) => {
      onReady = resolve
      redis.once('ready', onReady)
    })
    await timeout.run(ready).finally(() => redis.off('ready', onReady))
  }
  return Promise.all(redis.nodes('master').map((node) => readPolicy(node, timeout)))
}

/** CONFIG GET, else INFO memory (managed services often disable CONFIG), else unknown. */
async function readPolicy(node: Redis, timeout: CommandTimeout): Promise<NodePolicy> {
  const name = `${node.options.host}:${node.options.port}`
  try {
    const reply = (await timeout.run(node.config('GET', 'maxmemory-policy'))) as string[]
    if (reply[1] !== undefined) return { node: name, policy: reply[1] }
  } catch (error) {
    if (!isReplyError(error)) throw error
  }
  try {
    const info = await timeout.run(node.info('memory'))
    const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1]
    return { node: name, policy }
  } catch (error) {
    if (!isReplyError(error)) throw error
    return { node: name, policy: undefined }
  }
}

/** The server answered with an error (command disabled or not permitted): the connection is fine. */
function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError'
}
