import { hostname } from 'node:os'
import { createTopologyStore, type MoveState, type StoredTopology } from '@headroom/shard/postgres'
import pg from 'pg'
import type { Config } from '../config.js'
import type { Databases, ShardDatabases } from '../db/database.js'
import type { AppLogger } from '../logger.js'
import type { Shards } from './shards.js'

/** The topology's name in the main database. */
export const TOPOLOGY_NAME = 'corp-astro'

/** Every table of a shard, moved together when logical shards change database. */
export const SHARDED_TABLES = [
  'users',
  'user_emails',
  'refresh_tokens',
  'business_profiles',
  'content_items',
  'reports',
  'notifications',
  'analytics_events',
] as const

/** Where the latest shard move stands, for `/metrics`. */
export interface MoveStatus {
  version: number
  /** Batches of logical shards per state, of the latest move. */
  batches: Partial<Record<MoveState, number>>
  rowsCopied: number
}

export interface AppTopology {
  /** The topology version this process routes by. */
  version(): number
  moveStatus(): Promise<MoveStatus>
  close(): Promise<void>
}

/** The shards of a stored topology: the ones open already, new ones opened now. */
function shardsOf(topology: StoredTopology, databases: Databases, opened: Map<string, ShardDatabases>) {
  return topology.shards.map((stored) => {
    let shard = opened.get(stored.id)
    if (!shard) {
      if (!databases.openShard) throw new Error(`Cannot open shard "${stored.id}": not on Postgres`)
      shard = databases.openShard(stored.id, stored.url)
      opened.set(stored.id, shard)
    }
    return shard
  })
}

/**
 * With one database per shard (SHARD_DATABASE_URLS), the placement is the committed
 * topology row in the main database: the first start stores the canonical placement of
 * the configured URLs, and each process polls the row and routes by every newer version
 * (a shard move commits one per cut-over), opening the pools of shards that joined.
 * Returns undefined with shards as schemas of one database, where nothing can move.
 */
export async function startTopology(options: {
  config: Config
  databases: Databases
  shards: Shards
  /** Store the first topology (the process that migrates); others only read it. */
  init: boolean
  logger: AppLogger
  pollMs?: number
}): Promise<AppTopology | undefined> {
  const { config, databases, shards, logger } = options
  if (config.database.kind !== 'postgres' || config.database.shardUrls.length === 0) return undefined
  const store = createTopologyStore({ connectionString: config.database.url, name: TOPOLOGY_NAME })
  const opened = new Map(databases.shards.map((shard) => [shard.id, shard]))
  const initial = options.init
    ? await store.init({
        shards: config.database.shardUrls.map((url, index) => ({ id: `shard-${index}`, url })),
      })
    : await store.load()
  let version = initial.version
  shards.update(shardsOf(initial, databases, opened), initial.layout)
  const stop = store.watch(
    (next) => {
      shards.update(shardsOf(next, databases, opened), next.layout)
      version = next.version
      logger.info({ version, shards: next.shards.length }, 'shard topology changed')
    },
    {
      intervalMs: options.pollMs ?? 250,
      current: version,
      reader: `${hostname()}:${process.pid}`,
      onError: (error) => logger.warn({ err: error }, 'could not read the shard topology'),
    },
  )
  const control = new pg.Pool({ connectionString: config.database.url, max: 1, allowExitOnIdle: true })
  control.on('error', () => {})
  return {
    version: () => version,
    async moveStatus() {
      const { rows } = await control.query<{ state: MoveState; n: string; copied: string }>(
        `SELECT b.state, count(*)::text AS n, sum(b.rows_copied)::text AS copied
         FROM headroom_shard_move_batches b
         WHERE b.move_id = (SELECT max(id) FROM headroom_shard_moves WHERE name = $1)
         GROUP BY b.state`,
        [TOPOLOGY_NAME],
      )
      const batches: MoveStatus['batches'] = {}
      let rowsCopied = 0
      for (const row of rows) {
        batches[row.state] = Number(row.n)
        rowsCopied += Number(row.copied)
      }
      return { version, batches, rowsCopied }
    },
    async close() {
      await stop()
      await store.close()
      await control.end()
    },
  }
}
