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
  isRedisDown,
  type RedisClient,
  runScript,
  StoreUnavailableError,
} from '@headroom/core'
import type { RecoveryOutcome } from '../types.js'
import { createMultiGet, createReadBatcher } from './read-batcher.js'

/** Adds members to a tag index and keeps its expiry at least as long as theirs. */
const tagAdd = defineScript(
  'cache-tag-add',
  `
-- KEYS[1]  the tag index (a set of value keys)
-- ARGV[1]  the member's expiry, ms (the index lives at least as long)
-- ARGV[2+] the value keys to add
redis.call('SADD', KEYS[1], unpack(ARGV, 2))
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1`,
)

/**
 * The header every payload starts with, up to its write time `c` (see `Codec.encode`): the
 * scripts below compare write times without decoding the value inside Redis.
 */
const WRITTEN_AT = `string.match(v, '^{"e":%d+,"s":%d+,"d":%d+,"c":(%d+)')`

/**
 * Writes an entry unless the one in Redis was written later (by the cache clocks). Every
 * write goes through it, so a write that ioredis delivers late (re-sent after a reconnect)
 * or that auto-recovery replays never overwrites a newer value. With ARGV[4] = 1 (a
 * replay) it only replaces an older entry: an absent one may have been deleted after the
 * replayed write was made, and a miss recomputes from the source of truth anyway.
 * Returns 1 written, 0 kept (newer), 2 not written (absent).
 */
const setIfNewer = defineScript(
  'cache-set-if-newer',
  `
-- KEYS[1]  the value key
-- ARGV[1]  the payload
-- ARGV[2]  its expiry, ms (TTL + grace)
-- ARGV[3]  its write time, ms
-- ARGV[4]  1 for a replay (replace an older entry only), else 0
local v = redis.call('GET', KEYS[1])
if v then
  local c = tonumber(${WRITTEN_AT})
  if c and c > tonumber(ARGV[3]) then return 0 end
elseif ARGV[4] == '1' then
  return 2
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`,
)

/** Deletes an entry written at or before ARGV[1]; a later one stays. Returns 1 deleted, 0 absent, 2 kept. */
const deleteIfOlder = defineScript(
  'cache-delete-if-older',
  `
-- KEYS[1]  the value key
-- ARGV[1]  the time of the delete, ms: an entry written later stays
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local c = tonumber(${WRITTEN_AT})
if c and c > tonumber(ARGV[1]) then return 2 end
redis.call('DEL', KEYS[1])
return 1`,
)

/**
 * One round trip for a lock attempt: a fresh value wins (returned as is), else the
 * lease is taken if free. Freshness is read from the entry's leading `{"e":<ms>`.
 */
const lockAcquire = defineScript(
  'cache-lock-acquire',
  `
-- KEYS[1]  the value key
-- KEYS[2]  the lock key (same hash slot)
-- ARGV[1]  this caller's token
-- ARGV[2]  the lease, ms
-- ARGV[3]  "fresh" means fresh until after this time, ms
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
-- KEYS[1]  the lock key
-- ARGV[1]  the holder's token
-- ARGV[2]  the lease, ms
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`,
)

const lockRelease = defineScript(
  'cache-lock-release',
  `
-- KEYS[1]  the lock key
-- ARGV[1]  the holder's token
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
)

/** What a lock attempt found: a fresh payload, the lease, or someone else's lease. */
export interface LockAttempt {
  state: 'fresh' | 'acquired' | 'held'
  /** The payload in Redis (fresh, or stale, or none). */
  raw: string | null
}

/** An encoded entry on its way to L2. */
export interface StoredWrite {
  payload: string
  /** Redis expiry (TTL + grace), in ms. */
  pxMs: number
  /** Tag indexes the key joins. */
  tags: readonly string[] | undefined
  /** The entry's write time: a write never replaces an entry written later. */
  writtenAt: number
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
  /**
   * Writes the entry (and its tag indexes) unless Redis holds one written after `writtenAt`.
   * Resolves `true` when written, `false` when the newer one was kept.
   */
  set(key: string, write: StoredWrite): Promise<boolean>
  delete(keys: readonly string[]): Promise<void>
  invalidateTags(tags: readonly string[]): Promise<void>
  /**
   * What auto-recovery replays, outside the failure gate (it runs as the gate's probe):
   * the write above, replacing only an older entry, and a delete or tag invalidation that
   * spares entries written after `at`.
   */
  replaySet(key: string, write: StoredWrite): Promise<RecoveryOutcome>
  /** Resolves `false` when an entry written after `at` was kept. */
  replayDelete(key: string, at: number): Promise<boolean>
  replayInvalidateTag(tag: string, at: number): Promise<void>
  /**
   * Runs `replay` as the failure gate's probe when one is due (cooldown over, client
   * connected), or at once while the gate is closed; the gate closes only if it succeeds.
   * Returns false when no attempt was made.
   */
  recover(replay: () => Promise<boolean>): boolean
  /**
   * Called when a probe succeeded: a pending replay (a promise) runs before the gate
   * closes; `undefined` closes it at once.
   */
  beforeReopen: (() => Promise<boolean> | undefined) | undefined
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
    if (error === undefined) return ok()
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
  let reopening: Promise<boolean> | undefined
  const ok = () => {
    if (gate.state === 'probing' && store.beforeReopen !== undefined) {
      if (reopening !== undefined) return
      const replay = store.beforeReopen()
      if (replay !== undefined) {
        reopening = replay
        settleAfter(replay)
        return
      }
    }
    gate.success()
  }
  // A replay settles (each operation is bounded by its deadline); it frees `reopening` only
  // if it is the probe there, so a replay started while the gate was closed never
  // releases a later probe that is still running.
  const settleAfter = (replay: Promise<boolean>) => {
    const release = (done: boolean) => {
      if (reopening === replay) reopening = undefined
      if (done) gate.success()
      else gate.failure()
    }
    replay.then(release, () => release(false))
  }
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

  /**
   * Runs a write under the timeout and the gate. A write is not handed to a client that
   * lost its connection: ioredis would queue it and send it after the reconnect, long
   * after its caller was told it failed.
   */
  function guardedWrite<T>(command: () => Promise<T>): Promise<T> {
    if (!allow()) return unavailable()
    if (isRedisDown(client)) {
      errors++
      gate.failure()
      return Promise.reject(new StoreUnavailableError(`Redis connection is ${client.status}; write not sent`))
    }
    return timeout.run(command()).then((value) => {
      ok()
      return value
    }, fail)
  }

  async function writeEntry(key: string, write: StoredWrite, replay = false): Promise<number> {
    const { payload, pxMs, tags, writtenAt } = write
    const px = Math.max(1, Math.ceil(pxMs))
    // Index first: an invalidation racing this write then still finds the key.
    if (tags && tags.length > 0) {
      await Promise.all(tags.map((tag) => runScript(client, tagAdd, [tagKey(tag)], [px, valueKey(key)])))
    }
    return runScript<number>(
      client,
      setIfNewer,
      [valueKey(key)],
      [payload, px, Math.floor(writtenAt), replay ? 1 : 0],
    )
  }

  const store: RedisStore = {
    client,
    beforeReopen: undefined,
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
    set(key, write) {
      return guardedWrite(() => writeEntry(key, write)).then((result) => result !== 0)
    },
    async delete(keys) {
      if (keys.length === 0) return
      const redisKeys = keys.map(valueKey)
      if (cluster) await guardedWrite(() => Promise.all(redisKeys.map((key) => client.del(key))))
      else await guardedWrite(() => client.del(...redisKeys))
    },
    async invalidateTags(tags) {
      await guardedWrite(() =>
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
    async replaySet(key, write) {
      const result = await timeout.run(writeEntry(key, write, true))
      return result === 1 ? 'applied' : result === 0 ? 'newer-in-l2' : 'absent-in-l2'
    },
    async replayDelete(key, at) {
      const deleted = await timeout.run(
        runScript<number>(client, deleteIfOlder, [valueKey(key)], [Math.floor(at)]),
      )
      return deleted !== 2
    },
    async replayInvalidateTag(tag, at) {
      await timeout.run(
        (async () => {
          const members = await client.smembers(tagKey(tag))
          // One script per member: members live in other slots than the index on a Cluster.
          const deleted = await Promise.all(
            members.map((member) => runScript<number>(client, deleteIfOlder, [member], [Math.floor(at)])),
          )
          // Entries written after the invalidation keep their place in the index.
          const gone = members.filter((_, i) => deleted[i] !== 2)
          if (gone.length === members.length) await client.del(tagKey(tag))
          else if (gone.length > 0) await client.srem(tagKey(tag), ...gone)
        })(),
      )
    },
    recover(replay) {
      if (closed || reopening !== undefined) return false
      if (gate.state === 'closed') {
        if (isRedisDown(client)) return false
        settleAfter(replay())
        return true
      }
      if (!gate.allow()) return false
      reopening = replay()
      settleAfter(reopening)
      return true
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
  return store
}
