/**
 * `pnpm --filter corp-astro shard:add <postgres-url>`: adds a shard database while the app
 * serves. It migrates the new database, records the move in the main database (one batch
 * of logical shards per existing shard: a fifth of the users when a fifth database joins),
 * then copies their rows with Postgres logical replication, cuts each batch over with a
 * short write pause (503 + Retry-After to the writes it holds) and removes the moved rows
 * from their old database. The running app follows each cut-over without a restart.
 * Killed or failed, run the same command again: it resumes the move where it stopped.
 */
import { createShardMover, type Move } from '@headroom/shard/postgres'
import { loadConfig } from '../config.js'
import { migrateShard } from '../db/migrate.js'
import { openPostgres } from '../db/postgres.js'
import { createLogger } from '../logger.js'
import { createShards } from '../platform/shards.js'
import { SHARDED_TABLES, startTopology, TOPOLOGY_NAME } from '../platform/topology.js'

const url = process.argv[2]
if (!url || !/^postgres(ql)?:\/\//.test(url)) {
  console.error('usage: pnpm --filter corp-astro shard:add <postgres://new-shard-database-url>')
  process.exit(2)
}
const config = loadConfig(process.env)
if (config.database.kind !== 'postgres' || config.database.shardUrls.length === 0) {
  console.error('shard:add needs DATABASE_URL and SHARD_DATABASE_URLS (one database per shard)')
  process.exit(2)
}
const logger = createLogger(config)
const databases = openPostgres({ ...config.database, poolMax: 2, poolMin: 1 })
const mover = createShardMover({
  connectionString: config.database.url,
  name: TOPOLOGY_NAME,
  tables: SHARDED_TABLES,
  logger,
  onProgress: (move: Move) => {
    const states = move.batches.map((b) => `${b.from}→${b.to} ${b.state} (${b.rowsCopied} rows)`).join(', ')
    process.stdout.write(`move ${move.id} ${move.status}: ${states}\n`)
  },
})
try {
  // The topology exists once the app has started; stored here too for a first run.
  const topology = await startTopology({
    config,
    databases,
    shards: createShards(databases.shards),
    init: true,
    logger,
  })
  await topology?.close()
  let move = await mover.running()
  if (move && !move.plan.shards.some((s) => s.url === url)) {
    throw new Error(`Move ${move.id} (to another database) is unfinished: run shard:add with its URL first`)
  }
  if (!move) {
    const id = `shard-${await nextIndex(config.database.url)}`
    const applied = await migrateShard(databases.openShard!(id, url).primary)
    if (applied.length > 0) logger.info({ applied }, 'new shard migrated')
    move = await mover.addShard({ id, url })
  }
  const done = await mover.run(move.id)
  const pauses = done.batches.map((b) => b.pauseMs ?? 0)
  process.stdout.write(`move ${done.id} completed; longest write pause ${Math.max(...pauses)} ms\n`)
} catch (error) {
  console.error((error as Error).message)
  process.exitCode = 1
} finally {
  await mover.close()
  await databases.close()
}

async function nextIndex(controlUrl: string): Promise<number> {
  const { createTopologyStore } = await import('@headroom/shard/postgres')
  const store = createTopologyStore({ connectionString: controlUrl, name: TOPOLOGY_NAME })
  try {
    return (await store.load()).shards.length
  } finally {
    await store.close()
  }
}
