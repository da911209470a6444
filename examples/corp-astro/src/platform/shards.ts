import { hashToBucket, murmur3 } from '@headroom/core'
import type { Database, ShardDatabases } from '../db/database.js'

/** Where the app's sharded data lives. */
export interface Shards {
  /** The primary holding a user's rows (writes, and reads that must see them). */
  forUser(userId: string): Database
  /** A database to read a user's rows from: a healthy replica when there is one. */
  forUserRead(userId: string): Database
  /** The primary holding an email's directory entry. */
  forEmail(email: string): Database
  /** Every shard, for fan-out (analytics summary, cleanup). */
  all(): readonly ShardDatabases[]
  stats(): Record<string, unknown>
}

/** TEMPORARY until @headroom/shard lands. */
export function createShards(shards: readonly ShardDatabases[]): Shards {
  const pick = (key: string) => shards[hashToBucket(murmur3(key), shards.length)]!
  return {
    forUser: (userId) => pick(`user:${userId}`).primary,
    forUserRead: (userId) => pick(`user:${userId}`).primary,
    forEmail: (email) => pick(`email:${email}`).primary,
    all: () => shards,
    stats: () => ({}),
  }
}
