import { type RedisCluster, startRedisCluster } from './redis-cluster.js'
import { hasRedisServer, postgresAnswers, postgresUrl, redisAnswers, redisUrl } from './services.js'

/**
 * Runs once before all suites: records which services answer (suites read it
 * synchronously through the environment) and starts the 3-master test Cluster on
 * spare ports unless `HEADROOM_TEST_REDIS_CLUSTER` names one already.
 * Under `CI=true` a missing service fails the run instead of skipping suites.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const ci = process.env.CI === 'true'
  const missing: string[] = []

  const redis = await redisAnswers()
  process.env.HEADROOM_TEST_REDIS = redis ? '1' : '0'
  if (!redis) missing.push(`Redis at ${redisUrl()}`)

  const postgres = await postgresAnswers()
  process.env.HEADROOM_TEST_POSTGRES = postgres ? '1' : '0'
  if (!postgres) missing.push(`Postgres at ${postgresUrl()}`)

  let cluster: RedisCluster | undefined
  if (!process.env.HEADROOM_TEST_REDIS_CLUSTER) {
    if (hasRedisServer()) {
      cluster = await startRedisCluster()
      process.env.HEADROOM_TEST_REDIS_CLUSTER = cluster.startupNodes
        .map((n) => `${n.host}:${n.port}`)
        .join(',')
    } else {
      missing.push('redis-server (to start the test Redis Cluster)')
    }
  }

  if (missing.length > 0) {
    const text = `Services missing: ${missing.join('; ')}.`
    if (ci) throw new Error(`CI=true: ${text} .ci/run starts them; run it, or start them by hand.`)
    console.warn(
      `\n${'!'.repeat(78)}\n!! ${text}\n!! The suites that need them are SKIPPED. See README.md, "Services for tests".\n${'!'.repeat(78)}\n`,
    )
  }

  return async () => {
    await cluster?.close()
  }
}
