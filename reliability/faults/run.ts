/**
 * The fault suite (`pnpm test:faults`): Corp Astro with 2 workers on real Postgres (4
 * shard databases) and a Redis it owns, under a steady load, through one fault at a
 * time. Prints a table and exits non-zero when a promise is broken. See ../README.md.
 */
import { randomBytes } from 'node:crypto'
import {
  createTestDatabase,
  freePort,
  postgresAnswers,
  postgresUrl,
  startRedisCluster,
  startRedisServer,
  startTcpProxy,
  type TestDatabase,
} from '../../packages/testing/src/index.js'
import { cleanUp, cleanups } from './cleanups.js'
import { elapsedSeconds, log } from './log.js'
import { checkLosses } from './losses.js'
import { runApp } from './processes.js'
import { printTable, printVerdicts } from './report.js'
import { results } from './results.js'
import { astroFaults } from './scenarios/astro-faults.js'
import { clusterFailover } from './scenarios/cluster-failover.js'
import { redisOutage } from './scenarios/redis-outage.js'
import { redisPartition } from './scenarios/redis-partition.js'
import { shardAdded } from './scenarios/shard-add.js'
import { shardHang } from './scenarios/shard-hang.js'
import { shardOutage } from './scenarios/shard-outage.js'
import { workerKill } from './scenarios/worker-kill.js'
import { startStack } from './stack.js'
import { sleep } from './wait.js'

async function main(): Promise<number> {
  if (!(await postgresAnswers())) throw new Error(`Postgres does not answer at ${postgresUrl()}`)
  const label = `f${randomBytes(2).toString('hex')}`
  const main = await createTestDatabase(`${label}_main`)
  const shards: TestDatabase[] = []
  for (let i = 0; i < 4; i++) shards.push(await createTestDatabase(`${label}_s${i}`))
  cleanups.push(async () => {
    for (const db of [main, ...shards])
      await db
        .drop()
        .catch(() => db.drop())
        .catch((error: unknown) => console.error(`could not drop ${db.name}: ${String(error)}`))
  })
  const pgTarget = new URL(postgresUrl())
  // Shard 3 goes through a proxy the suite can cut ("refuses connections"), hang or slow down.
  const proxy = await startTcpProxy({ host: pgTarget.hostname, port: Number(pgTarget.port || 5432) })
  cleanups.push(() => proxy.close())
  const shardUrls = shards.map((db, index) => {
    if (index !== 3) return db.url
    const url = new URL(db.url)
    url.hostname = '127.0.0.1'
    url.port = String(proxy.port)
    return url.toString()
  })

  const redis = await startRedisServer({ appendOnly: true })
  cleanups.push(() => redis.close())
  // The second instance reaches Redis through a proxy, so a partition can cut it alone.
  const redisTarget = new URL(redis.url)
  const redisProxy = await startTcpProxy({ host: redisTarget.hostname, port: Number(redisTarget.port) })
  cleanups.push(() => redisProxy.close())
  const redisViaProxy = new URL(redis.url)
  redisViaProxy.hostname = '127.0.0.1'
  redisViaProxy.port = String(redisProxy.port)
  const astroPort = await freePort()
  const astro = runApp('src/astro/main.ts', {
    PORT: String(astroPort),
    HOST: '127.0.0.1',
    ASTRO_LATENCY_MS: '20',
  })
  cleanups.push(() => astro.stop('SIGKILL'))
  await astro.waitFor('astro service listening', 60_000)
  const astroUrl = `http://127.0.0.1:${astroPort}`

  // One secret for every instance: a token one issues, the others accept.
  const jwtSecret = randomBytes(24).toString('hex')
  const env = (extra: Record<string, string>) => ({
    NODE_ENV: 'production',
    JWT_SECRET: jwtSecret,
    DATABASE_URL: main.url,
    SHARD_DATABASE_URLS: shardUrls.join(','),
    WEB_CONCURRENCY: '2',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    TRUST_PROXY: 'true',
    PG_POOL_MAX: '4',
    ASTRO_URL: astroUrl,
    ASTRO_TIMEOUT_MS: '250',
    // A shared 2-core box stalls now and then; load shedding is not the fault under test.
    SHED_EVENT_LOOP_DELAY_MS: '2000',
    NOTIFICATION_DELAY_MS: '300',
    ANALYTICS_FLUSH_MS: '200',
    ...extra,
  })

  const stack = await startStack(env({ REDIS_URL: redis.url, REDIS_PREFIX: `${label}a` }), 'standalone', {
    secondEnv: env({ REDIS_URL: redisViaProxy.toString(), REDIS_PREFIX: `${label}a` }),
  })
  await sleep(3_000)

  await redisOutage(stack, redis)
  await redisPartition(stack, redisProxy)
  await shardOutage(stack, proxy)
  await shardHang(stack, proxy)
  await astroFaults(stack, astroUrl)
  await workerKill(stack)

  await stack.load.stop()
  await checkLosses(stack, [main, ...shards])
  await Promise.all([stack.app.stop('SIGTERM', 20_000), stack.second?.stop('SIGTERM', 20_000)])

  // Online moves need wal_level = logical: the scenario brings its own Postgres cluster.
  if (process.env.FAULTS_SKIP_SHARD_ADD !== '1') await shardAdded({ env, redisUrl: redis.url, label })

  if (process.env.FAULTS_SKIP_CLUSTER !== '1') {
    log('starting a Redis Cluster (3 masters, 1 replica each)')
    const cluster = await startRedisCluster({ replicasPerMaster: 1, nodeTimeoutMs: 2_000 })
    cleanups.push(() => cluster.close())
    const nodes = cluster.startupNodes.map((node) => `${node.host}:${node.port}`).join(',')
    const onCluster = await startStack(
      env({ REDIS_CLUSTER_NODES: nodes, REDIS_PREFIX: `${label}c` }),
      'cluster',
    )
    await sleep(3_000)
    await clusterFailover(onCluster, cluster)
    await onCluster.load.stop()
    await checkLosses(onCluster, [main, ...shards], 'cluster-failover')
    await onCluster.app.stop('SIGTERM', 20_000)
  }

  printTable(results)
  const failures = printVerdicts(results)
  log(
    `done in ${elapsedSeconds(0)} s: ${failures === 0 ? 'every promise kept (known findings aside)' : `${failures} fault(s) broke a promise`}`,
  )
  return failures > 0 ? 1 : 0
}

let exitCode = 1
// Interrupted: still stop the app, Redis and the proxy, and drop the databases.
const interrupt = () => {
  void cleanUp().finally(() => process.exit(130))
}
process.once('SIGINT', interrupt)
process.once('SIGTERM', interrupt)
try {
  exitCode = await main()
} catch (error) {
  console.error(error)
  exitCode = 1
} finally {
  await cleanUp()
}
process.exit(exitCode)
