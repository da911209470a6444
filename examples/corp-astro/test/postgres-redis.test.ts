import {
  clusterNodes,
  createTestDatabase,
  describeRedis,
  postgresAvailable,
  type TestDatabase,
} from '@headroom/testing'
import { describe } from 'vitest'
import { describeApi } from './api-contract.js'
import { startTestApp } from './helpers.js'

/** A main database and 4 shard databases, dropped when the app is closed. */
async function databases(): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  const all: TestDatabase[] = await Promise.all(
    ['main', 's0', 's1', 's2', 's3'].map((label) => createTestDatabase(`astro_${label}`)),
  )
  return {
    env: {
      DATABASE_URL: all[0]!.url,
      SHARD_DATABASE_URLS: all
        .slice(1)
        .map((db) => db.url)
        .join(','),
    },
    drop: async () => {
      await Promise.all(all.map((db) => db.drop()))
    },
  }
}

if (postgresAvailable()) {
  describeRedis('corp-astro on Postgres', (target) => {
    describeApi(`4 shard databases + Redis ${target.kind}`, async () => {
      const dbs = await databases()
      const redisEnv =
        target.kind === 'cluster'
          ? {
              REDIS_CLUSTER_NODES: clusterNodes()
                .map((n) => `${n.host}:${n.port}`)
                .join(','),
            }
          : { REDIS_URL: process.env.HEADROOM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379' }
      const app = await startTestApp({
        ...dbs.env,
        ...redisEnv,
        REDIS_PREFIX: target.prefix('astro'),
        PG_POOL_MAX: '4',
      })
      const close = app.close.bind(app)
      return Object.assign(app, {
        close: async (grace?: number) => {
          await close(grace)
          await dbs.drop()
        },
      })
    })
  })
} else {
  describe.skip('corp-astro on Postgres: no Postgres', () => {})
}
