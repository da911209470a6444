import type { ResolvedPolicy } from '../algorithms/policy.js'
import {
  createMemoryStore,
  type MemoryStore,
  type MemoryStoreOptions,
} from '../stores/memory/memory-store.js'
import type { StoreOp, StoreResult } from '../stores/store.js'
import type { Decision } from './decision.js'
import type { StoreErrorMode } from './options.js'

export interface StoreFallbackOptions {
  mode: StoreErrorMode
  /** Processes sharing the limit: the `local` fallback holds each limit divided by it. */
  instances: number
  closedRetryMs: number
  memoryOptions: MemoryStoreOptions
}

/** A `local` decision: the store's result against the policies it was decided with (the scaled ones). */
export interface LocalResult {
  result: StoreResult
  policies: readonly ResolvedPolicy[]
}

/**
 * What a limiter decides with when its store fails or times out: `open` and `closed`
 * answer at once, `local` decides in an in-process store (created at the first
 * failure) holding each limit divided by `instances`. The limiter counts and reports
 * these decisions; this class owns the local store and the scaled policy sets.
 */
export class StoreFallback {
  readonly mode: StoreErrorMode
  readonly #instances: number
  readonly #closedRetryMs: number
  readonly #memoryOptions: MemoryStoreOptions
  readonly #scaled = new WeakMap<readonly ResolvedPolicy[], readonly ResolvedPolicy[]>()
  #local: MemoryStore | undefined

  constructor(options: StoreFallbackOptions) {
    this.mode = options.mode
    this.#instances = options.instances
    this.#closedRetryMs = options.closedRetryMs
    this.#memoryOptions = options.memoryOptions
  }

  /** The `open` or `closed` answer to `op`. */
  fixed(op: StoreOp): Decision {
    const first = op.policies[0]!
    const open = this.mode === 'open'
    return {
      allowed: open,
      limit: first.limit,
      remaining: open ? first.limit : 0,
      resetMs: open ? 0 : this.#closedRetryMs,
      retryAfterMs: open ? 0 : this.#closedRetryMs,
      policy: first.name,
      source: this.mode,
    }
  }

  /** Decides `op` in this process against the scaled limits. */
  async local(op: StoreOp): Promise<LocalResult> {
    this.#local ??= createMemoryStore(this.#memoryOptions)
    const policies = this.#scaledOf(op.policies)
    return { result: await this.#local.run({ ...op, policies }), policies }
  }

  /** A `block` or `reset` also goes to the local store once a failure created it. */
  async mirror(op: StoreOp): Promise<void> {
    if (this.#local !== undefined) await this.#local.run(op)
  }

  close(): void {
    this.#local?.close()
  }

  #scaledOf(set: readonly ResolvedPolicy[]): readonly ResolvedPolicy[] {
    let scaled = this.#scaled.get(set)
    if (scaled === undefined) {
      const n = this.#instances
      scaled = set.map((p) => ({ ...p, limit: p.limit / n, burst: p.burst / n }))
      this.#scaled.set(set, scaled)
    }
    return scaled
  }
}
