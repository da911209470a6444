import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { defineError } from '../errors.js'
import { type OptionsSchemaMatch, parseOptions } from '../options/validate.js'
import { type Clock, sleep, systemClock, type TimerHandle } from '../time/clock.js'
import { assertKeyPrefix, hashTaggedKey } from './keys.js'
import { defineScript, runScript } from './script.js'
import type { RedisClient } from './types.js'

/** `acquire` waited `waitMs` and another holder still had the lock. */
export const LockTimeoutError = defineError('E_LOCK_TIMEOUT', 'The lock was not acquired in time')
/** The lease ran out (or was taken over) while its holder still held it: its work is no longer protected. */
export const LockLostError = defineError('E_LOCK_LOST', 'The lock lease was lost')

export interface LockOptions {
  /** The Redis client (standalone or Cluster). */
  redis: RedisClient
  /** Key prefix; each lock uses `{prefix:name}:owner` and `{prefix:name}:fence`. @default 'headroom:lock' */
  prefix?: string
  /** Lease length: a holder that dies frees the lock after this long. @default 10000 */
  ttlMs?: number
  /** Renew the lease every `ttlMs / 3` while it is held. @default true */
  renew?: boolean
  /** Longest `acquire` waits for a held lock before `LockTimeoutError`; 0 tries once. @default 5000 */
  waitMs?: number
  /** First pause between tries while waiting; doubles up to 1 s, with jitter. @default 25 */
  retryDelayMs?: number
  /** The clock (tests inject a manual one). @default systemClock */
  clock?: Clock
}

export interface AcquireLockOptions {
  /** This lease's length. @default the lock's `ttlMs` */
  ttlMs?: number
  /** This call's wait bound. @default the lock's `waitMs` */
  waitMs?: number
  /** Gives up waiting when aborted (rejects with the signal's reason). */
  signal?: AbortSignal
}

/** A held lock. */
export interface LockLease {
  /** The lock's name. */
  readonly name: string
  /**
   * Increases by one with every acquisition of this name, across processes and restarts.
   * Pass it to the resource the lock protects and have the resource refuse a write
   * carrying a smaller token than the last it saw: a holder that paused past its lease
   * (a GC, a frozen VM) then cannot overwrite its successor's work.
   */
  readonly fencingToken: number
  /** Aborted (reason `LockLostError`) when the lease is lost: renewal refused or past its expiry. */
  readonly signal: AbortSignal
  /** Extends the lease to `ttlMs` from now; false when it was already lost. */
  extend(ttlMs?: number): Promise<boolean>
  /** Frees the lock; false when it was no longer this lease's. Stops renewal either way. */
  release(): Promise<boolean>
}

export interface Lock {
  /** Takes the lock `name`, waiting up to `waitMs` while another holder has it. */
  acquire(name: string, options?: AcquireLockOptions): Promise<LockLease>
  /** Takes the lock if free, else `undefined`; never waits. */
  tryAcquire(name: string, options?: { ttlMs?: number }): Promise<LockLease | undefined>
  /**
   * Runs `fn` under the lock and releases it after, however `fn` ends. `fn` gets the
   * lease: check `lease.signal` (or pass it on) in long work, and pass
   * `lease.fencingToken` to the resource.
   */
  withLock<T>(
    name: string,
    fn: (lease: LockLease) => Promise<T> | T,
    options?: AcquireLockOptions,
  ): Promise<T>
  /** Stops renewing every lease this lock holds (they expire after their `ttlMs`). */
  close(): void
}

// Returns the new fencing token when acquired, else minus the owner's remaining ms (-1 at least).
const ACQUIRE = defineScript(
  'headroom-lock-acquire',
  `
-- KEYS[1] owner   the holder's token, with the lease's expiry
-- KEYS[2] fence   a counter that never expires
-- ARGV[1] token   this lease's random token
-- ARGV[2] ttlMs   the lease length
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
local left = redis.call('PTTL', KEYS[1])
if left < 1 then left = 1 end
return -left
`,
)

// Returns 1 when extended, 0 when the lock is not this token's.
const EXTEND = defineScript(
  'headroom-lock-extend',
  `
-- KEYS[1] owner   the holder's token
-- ARGV[1] token   this lease's token
-- ARGV[2] ttlMs   the new lease length
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`,
)

// Returns 1 when released, 0 when the lock is not this token's.
const RELEASE = defineScript(
  'headroom-lock-release',
  `
-- KEYS[1] owner   the holder's token
-- ARGV[1] token   this lease's token
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`,
)

const positiveMs = z.number({ error: 'expected a number of ms' }).int().positive()
const schema = z.strictObject({
  redis: z.custom<RedisClient>(
    (value) => typeof value === 'object' && value !== null && 'evalsha' in value,
    'expected an ioredis client (Redis or Cluster)',
  ),
  prefix: z.string().default('headroom:lock'),
  ttlMs: positiveMs.default(10_000),
  renew: z.boolean().default(true),
  waitMs: z.number().int().nonnegative().default(5_000),
  retryDelayMs: positiveMs.default(25),
  clock: z
    .custom<Clock>((value) => typeof value === 'object' && value !== null && 'now' in value)
    .default(systemClock),
})
true satisfies OptionsSchemaMatch<typeof schema, LockOptions>
const acquireSchema = z.strictObject({
  ttlMs: positiveMs.optional(),
  waitMs: z.number().int().nonnegative().optional(),
  signal: z
    .custom<AbortSignal>((value) => value instanceof AbortSignal, 'expected an AbortSignal')
    .optional(),
})
true satisfies OptionsSchemaMatch<typeof acquireSchema, AcquireLockOptions>
const tryAcquireSchema = acquireSchema.pick({ ttlMs: true })

/**
 * A distributed lock on Redis: a lease with a random token (only its holder extends or
 * releases it), renewed while held, a fencing token per acquisition, and a bounded wait.
 * Each lock's keys share one hash tag, so it runs on a Cluster. A holder that dies
 * frees the lock after `ttlMs`.
 *
 * A lease is a promise about time, not a guarantee: a holder that stalls past its
 * lease no longer holds the lock, which `lease.signal` tells it once it runs again,
 * and the fencing token lets the protected resource refuse its late writes.
 *
 * @example
 * const lock = createLock({ redis })
 * await lock.withLock('report:2026-12', async (lease) => {
 *   await db.query('UPDATE jobs SET owner_fence = $1 WHERE id = $2 AND owner_fence < $1', [lease.fencingToken, id])
 * })
 */
export function createLock(options: LockOptions): Lock {
  const config = parseOptions('createLock', schema, options)
  assertKeyPrefix(config.prefix)
  const clock = config.clock
  const redis = config.redis
  const held = new Set<HeldLease>()
  let closed = false

  const ownerKey = (name: string) => hashTaggedKey(config.prefix, name, 'owner')
  const fenceKey = (name: string) => hashTaggedKey(config.prefix, name, 'fence')
  const checkName = (name: unknown): string => {
    if (typeof name !== 'string' || name.length === 0)
      throw new TypeError(`Invalid lock name: expected a non-empty string (received ${JSON.stringify(name)})`)
    return name
  }

  /** One try: the lease, or how long the current holder still has (ms). */
  async function attempt(name: string, ttlMs: number): Promise<LockLease | number> {
    const token = randomBytes(16).toString('hex')
    const sentAt = clock.now()
    const result = Number(await runScript(redis, ACQUIRE, [ownerKey(name), fenceKey(name)], [token, ttlMs]))
    if (result < 0) return -result
    const lease = new HeldLease({ name, token, fencingToken: result, ttlMs, sentAt })
    held.add(lease)
    return lease
  }

  class HeldLease implements LockLease {
    readonly name: string
    readonly fencingToken: number
    readonly #token: string
    readonly #ttlMs: number
    readonly #controller = new AbortController()
    /** When the lease runs out at the latest, by this process's clock: measured from before the call that set it. */
    #expiresAt: number
    #renewal: TimerHandle | undefined
    #expiry: TimerHandle | undefined
    #done = false

    constructor(init: { name: string; token: string; fencingToken: number; ttlMs: number; sentAt: number }) {
      this.name = init.name
      this.fencingToken = init.fencingToken
      this.#token = init.token
      this.#ttlMs = init.ttlMs
      this.#expiresAt = init.sentAt + init.ttlMs
      this.#arm()
    }

    get signal(): AbortSignal {
      return this.#controller.signal
    }

    async extend(ttlMs = this.#ttlMs): Promise<boolean> {
      if (this.#done) return false
      const sentAt = clock.now()
      const extended =
        Number(await runScript(redis, EXTEND, [ownerKey(this.name)], [this.#token, ttlMs])) === 1
      if (this.#done) return false
      if (!extended) {
        this.#lose()
        return false
      }
      this.#expiresAt = sentAt + ttlMs
      this.#arm()
      return true
    }

    async release(): Promise<boolean> {
      const wasHeld = !this.#done
      this.#stop()
      if (!wasHeld && this.#controller.signal.aborted) return false
      return Number(await runScript(redis, RELEASE, [ownerKey(this.name)], [this.#token])) === 1
    }

    /** Stops renewal (the lease then expires on its own); used by `close()`. */
    abandon(): void {
      this.#stop()
    }

    #arm(): void {
      if (this.#expiry) clock.clearTimeout(this.#expiry)
      this.#expiry = clock.setTimeout(() => this.#lose(), Math.max(0, this.#expiresAt - clock.now()))
      if (config.renew && !closed) {
        if (this.#renewal) clock.clearTimeout(this.#renewal)
        this.#renewal = clock.setTimeout(() => this.#renew(), Math.max(1, Math.floor(this.#ttlMs / 3)))
      }
    }

    #renew(): void {
      this.#renewal = undefined
      if (this.#done) return
      this.extend().catch(() => {
        // Redis did not answer: try again soon; the expiry timer ends the lease if it stays away.
        if (!this.#done)
          this.#renewal = clock.setTimeout(() => this.#renew(), Math.max(1, Math.floor(this.#ttlMs / 10)))
      })
    }

    #lose(): void {
      if (this.#done) return
      this.#stop()
      this.#controller.abort(new LockLostError(`The lease of lock "${this.name}" was lost`))
    }

    #stop(): void {
      this.#done = true
      held.delete(this)
      if (this.#renewal) clock.clearTimeout(this.#renewal)
      if (this.#expiry) clock.clearTimeout(this.#expiry)
      this.#renewal = undefined
      this.#expiry = undefined
    }
  }

  async function acquire(name: string, callOptions: AcquireLockOptions = {}): Promise<LockLease> {
    checkName(name)
    const call = parseOptions('acquire', acquireSchema, callOptions)
    if (closed) throw new TypeError('The lock was closed')
    const ttlMs = call.ttlMs ?? config.ttlMs
    const waitMs = call.waitMs ?? config.waitMs
    const deadline = clock.now() + waitMs
    let delay = config.retryDelayMs
    for (;;) {
      call.signal?.throwIfAborted()
      const result = await attempt(name, ttlMs)
      if (typeof result !== 'number') return result
      const left = deadline - clock.now()
      if (left <= 0)
        throw new LockTimeoutError(`Lock "${name}" is held by another owner (waited ${waitMs} ms)`)
      // Never sleep past the holder's expiry or our deadline; jitter spreads the waiters.
      const pause = Math.min(result, left, delay * (0.5 + Math.random()))
      await sleep(Math.max(1, pause), clock, call.signal)
      delay = Math.min(delay * 2, 1000)
    }
  }

  return {
    acquire,
    async tryAcquire(name, callOptions = {}) {
      checkName(name)
      const call = parseOptions('tryAcquire', tryAcquireSchema, callOptions)
      const result = await attempt(name, call.ttlMs ?? config.ttlMs)
      return typeof result === 'number' ? undefined : result
    },
    async withLock(name, fn, callOptions) {
      const lease = await acquire(name, callOptions)
      try {
        return await fn(lease)
      } finally {
        await lease.release().catch(() => {
          // Redis is away: the lease expires on its own after ttlMs.
        })
      }
    },
    close() {
      closed = true
      for (const lease of [...held]) lease.abandon()
    },
  }
}
