// The one owner of the rule "a load overtaken by an invalidation never writes back": it
// holds the loads in flight (L2 reads, factory calls), the invalidations that overtook
// them, and the gate every load passes to write into L1. Other modules call its verbs.

import type { Entry } from '../tiers/entry.js'
import type { L1, L1Entry } from '../tiers/l1.js'
import { InvalidationClock } from './invalidation-clock.js'

/** What a load notes when it starts: the invalidation generation, handed back to write. */
export type LoadTicket = number

export class LoadRegistry {
  readonly #l1: L1
  /** Loads in flight by key (L2 read + factory): concurrent callers share one. */
  readonly #loads = new Map<string, Promise<unknown>>()
  /** L2 reads in flight for `get`/`getMany`. */
  readonly #reads = new Map<string, Promise<Entry | undefined>>()
  /**
   * Keys invalidated while a load of them was in flight: that load must not write back,
   * unless what it read is the very write that caused the invalidation (its write id).
   */
  readonly #overtaken = new Map<string, number | undefined>()
  /** Tag invalidations and flushes, which spoil the loads of the keys they touch. */
  readonly #clock = new InvalidationClock()

  constructor(l1: L1) {
    this.#l1 = l1
  }

  // --- Starting and ending loads -------------------------------------------------------

  /** Starts a load or an L2 read of `key`: what it writes back is judged against the ticket. */
  begin(key: string): LoadTicket {
    this.#overtaken.delete(key)
    return this.#clock.generation
  }

  /** `begin` for several keys read together. */
  beginMany(keys: readonly string[]): LoadTicket {
    for (const key of keys) this.#overtaken.delete(key)
    return this.#clock.generation
  }

  /** The load of `key` in flight, for a caller to join. */
  loadOf(key: string): Promise<unknown> | undefined {
    return this.#loads.get(key)
  }

  isLoading(key: string): boolean {
    return this.#loads.has(key)
  }

  /** Loads in flight. */
  get loading(): number {
    return this.#loads.size
  }

  /** Registers `pending` as the load of `key`; the load calls `finish` when it is done. */
  register(key: string, pending: Promise<unknown>): void {
    this.#loads.set(key, pending)
  }

  /** Ends a load: later callers start their own. */
  finish(key: string): void {
    this.#loads.delete(key)
    if (this.#overtaken.size > 0 && !this.#reads.has(key)) this.#overtaken.delete(key)
  }

  /** Registers `work` as the load of `key` until it settles. */
  share<T>(key: string, work: () => Promise<T>): Promise<T> {
    const pending = work()
    this.#loads.set(key, pending)
    const forget = () => {
      if (this.#loads.get(key) === pending) this.#loads.delete(key)
      if (!this.#loads.has(key) && !this.#reads.has(key)) this.#overtaken.delete(key)
    }
    pending.then(forget, forget)
    return pending
  }

  /** The L2 read of `key` in flight, for a `get` to join. */
  readOf(key: string): Promise<Entry | undefined> | undefined {
    return this.#reads.get(key)
  }

  /** Registers `pending` as the L2 read of `key` until it settles. */
  registerRead(key: string, pending: Promise<Entry | undefined>): void {
    this.#reads.set(key, pending)
    const forget = () => {
      if (this.#reads.get(key) === pending) this.#reads.delete(key)
    }
    pending.then(forget, forget)
  }

  // --- Invalidations -------------------------------------------------------------------

  /** Drops `key` from L1 and spoils its loads in flight (`written`: the write that caused it). */
  invalidateKey(key: string, written?: number): void {
    this.#l1.delete(key)
    if (this.#loads.has(key) || this.#reads.has(key)) this.#overtaken.set(key, written)
  }

  /** Drops the entries carrying `tags` from L1 and spoils the loads of keys carrying them. */
  invalidateTags(tags: readonly string[]): void {
    this.#clock.invalidateTags(tags)
    this.#l1.deleteTagged(new Set(tags))
  }

  /** Empties L1 and spoils every load in flight. */
  flush(): void {
    this.#clock.flush()
    this.#l1.clear()
  }

  // --- Writing back --------------------------------------------------------------------

  /**
   * An entry a load read from L2 goes into L1 unless the key, or one of its tags, was
   * invalidated since `ticket`; an invalidation caused by this very write (same write id)
   * does not count. Returns what L1 now holds, or `undefined` when refused.
   */
  admitRead(key: string, ticket: LoadTicket, entry: Entry, bytes: number): L1Entry | undefined {
    if (this.#clock.spoils(ticket, entry.tags)) return undefined
    if (this.#overtaken.has(key)) {
      const written = this.#overtaken.get(key)
      if (written === undefined || entry.writeId !== written) return undefined
    }
    return this.#l1.store(key, entry, bytes)
  }

  /**
   * A value a load computed goes into L1 unless the key, or one of the tags it is written
   * with, was invalidated since `ticket`. Returns false when refused: then it must not go
   * to L2 either.
   */
  admitComputed(key: string, ticket: LoadTicket, entry: Entry, bytes: number): boolean {
    if (this.#clock.spoils(ticket, entry.tags) || this.#overtaken.has(key)) return false
    this.#l1.store(key, entry, bytes)
    return true
  }

  /** An explicit `set` always writes, and wins over any load of the key still in flight. */
  storeExplicit(key: string, entry: Entry, bytes: number): void {
    if (this.#loads.has(key) || this.#reads.has(key)) this.#overtaken.set(key, undefined)
    this.#l1.store(key, entry, bytes)
  }
}
