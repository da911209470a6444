import {
  type Clock,
  type CommandTimeout,
  createCommandTimeout,
  createFailureGate,
  defineScript,
  type FailureGate,
  type FailureGateState,
  hashTaggedKey,
  isCluster,
  type RedisClient,
  runScript,
  StoreUnavailableError,
} from '@headroom/core'
import { createMultiGet, createReadBatcher } from './read-batcher.js'

/** Adds members to a tag index and keeps its expiry at least as long as theirs. */
const tagAdd = defineScript(
  'cache-tag-add',
  `
redis.call('SADD', KEYS[1], unpack(ARGV, 2))
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1`,
)

/**
 * One round trip for a lock attempt: a fresh value wins (returned as is), else the
 * lease is taken if free. Freshness is read from the entry's leading `{"e":<ms>`.
 */
const lockAcquire = defineScript(
  'cache-lock-acquire',
  `
local v = redis.call('GET', KEYS[1])
if v then
  local e = tonumber(string.match(v, '^{"e":(%d+)'))
  if e and e > tonumber(ARGV[3]) then return {2, v} end
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, v or false} end
return {0, v or false}`,
)

const lockRenew = defineScript(
  'cache-lock-renew',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`,
)

const lockRelease = defineScript(
  'cache-lock-release',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
)

/** What a lock attempt found: a fresh payload, the lease, or someone else's lease. */
export interface LockAttempt {
  state: 'fresh' | 'acquired' | 'held'
  /** The payload in Redis (fresh, or stale, or none). */
  raw: string | null
}

/**
 * The L2 tier. Every request-path command goes through one command timeout and a
 * failure gate, so a dead Redis costs callers at most `commandTimeout` ms, and then
 * nothing while the gate is open (it probes the server back).
 */
export interface RedisStore {
  readonly client: RedisClient
  get(key: string): Promise<string | null>
  /**
   * The hot-path read, batched with the other reads of this tick (see `createReadBatcher`):
   * resolves with the batch; this key's value is at `lastIndex`, read right after the call.
   */
  read(key: string): Promise<(string | null)[]>
  readonly lastIndex: number
  getMany(keys: readonly string[]): Promise<(string | null)[]>
  set(key: string, payload: string, pxMs: number, tags: readonly string[] | undefined): Promise<void>
  delete(keys: readonly string[]): Promise<void>
  invalidateTags(tags: readonly string[]): Promise<void>
  tryLock(key: string, token: string, leaseMs: number, now: number): Promise<LockAttempt>
  renewLock(key: string, token: string, leaseMs: number): Promise<boolean>
  releaseLock(key: string, token: string): Promise<void>
  readonly gateState: FailureGateState
  /** Commands that failed or timed out. */
  readonly errors: number
  close(): void
}

export function createRedisStore(options: {
  client: RedisClient
  prefix: string
  commandTimeout: number
  clock: Clock
  onGateChange: (state: FailureGateState, previous: FailureGateState) => void
}): RedisStore {
  const { client, prefix } = options
  const cluster = isCluster(client)
  const timeout: CommandTimeout = createCommandTimeout(options.commandTimeout, options.clock)
  const gate: FailureGate = createFailureGate({
    clock: options.clock,
    onStateChange: options.onGateChange,
    // Spend a probe only once ioredis has reconnected (see `canProbe`).
    canProbe: () => client.status === 'ready',
  })
  let errors = 0
  const multiGet = createMultiGet(client, cluster)
  const batcher = createReadBatcher(multiGet, timeout, (error) => {
    if (error === undefined) return gate.success()
    errors++
    gate.failure()
  })

  const valueKey = (key: string) => hashTaggedKey(prefix, key)
  const lockKey = (key: string) => hashTaggedKey(prefix, key, 'lock')
  // `#` keeps tag indexes apart from user keys that happen to start with "tag".
  const tagKey = (tag: string) => hashTaggedKey(`${prefix}#tag`, tag)

  let closed = false
  const unavailable = () => {
    // While the gate is open every Redis operation of every request lands here, thousands
    // a second; a stack trace would cost more than the refusal and always point here.
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      return Promise.reject(
        new StoreUnavailableError(
          closed ? 'The cache is closed' : 'Redis is unavailable (failure gate open)',
        ),
      )
    } finally {
      Error.stackTraceLimit = limit
    }
  }
  const ok = () => gate.success()
  const fail = (error: unknown): never => {
    errors++
    gate.failure()
    throw error
  }

  /** May a command go out now? */
  const allow = (): boolean => !closed && gate.allow()

  /** Runs one request-path command under the timeout and the gate. */
  function guarded<T>(command: () => Promise<T>): Promise<T> {
    if (!allow()) return unavailable()
    return timeout.run(command()).then((value) => {
      ok()
      return value
    }, fail)
  }

  return {
    client,
    read(key) {
      if (!allow()) return unavailable()
      return batcher.read(valueKey(key))
    },
    get lastIndex() {
      return batcher.lastIndex
    },
    get(key) {
      if (!allow()) return unavailable()
      return timeout.run(client.get(valueKey(key))).then((raw) => {
        gate.success()
        return raw
      }, fail)
    },
    getMany(keys) {
      if (keys.length === 0) return Promise.resolve([])
      return guarded(() => multiGet(keys.map(valueKey)))
    },
    async set(key, payload, pxMs, tags) {
      const px = Math.max(1, Math.ceil(pxMs))
      // Index first: an invalidation racing this write then still finds the key.
      if (tags && tags.length > 0) {
        await guarded(() =>
          Promise.all(tags.map((tag) => runScript(client, tagAdd, [tagKey(tag)], [px, valueKey(key)]))),
        )
      }
      await guarded(() => client.set(valueKey(key), payload, 'PX', px))
    },
    async delete(keys) {
      if (keys.length === 0) return
      const redisKeys = keys.map(valueKey)
      if (cluster) await guarded(() => Promise.all(redisKeys.map((key) => client.del(key))))
      else await guarded(() => client.del(...redisKeys))
    },
    async invalidateTags(tags) {
      await guarded(() =>
        Promise.all(
          tags.map(async (tag) => {
            const members = await client.smembers(tagKey(tag))
            if (members.length > 0) {
              if (cluster) await Promise.all(members.map((member) => client.del(member)))
              else await client.del(...members)
            }
            await client.del(tagKey(tag))
          }),
        ),
      )
    },
    async tryLock(key, token, leaseMs, now) {
      const [state, raw] = await guarded(() =>
        runScript<[number, string | false | null]>(
          client,
          lockAcquire,
          [valueKey(key), lockKey(key)],
          [token, Math.ceil(leaseMs), Math.floor(now)],
        ),
      )
      return {
        state: state === 2 ? 'fresh' : state === 1 ? 'acquired' : 'held',
        raw: typeof raw === 'string' ? raw : null,
      }
    },
    async renewLock(key, token, leaseMs) {
      const renewed = await guarded(() =>
        runScript<number>(client, lockRenew, [lockKey(key)], [token, Math.ceil(leaseMs)]),
      )
      return renewed === 1
    },
    async releaseLock(key, token) {
      await guarded(() => runScript(client, lockRelease, [lockKey(key)], [token]))
    },
    get gateState() {
      return gate.state
    },
    get errors() {
      return errors
    },
    close() {
      closed = true
      timeout.close()
    },
  }
}
