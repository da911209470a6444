import cluster, { type Worker } from 'node:cluster'
import { startAstroService } from './astro/service.js'
import type { Config } from './config.js'
import { migrate } from './db/migrate.js'
import { openPostgres } from './db/postgres.js'
import { seed } from './db/seed.js'
import { localUrl, tryItBanner } from './http/try-it.js'
import type { AppLogger } from './logger.js'
import { serveClusterMetrics } from './platform/metrics.js'
import { createShards } from './platform/shards.js'
import { startTopology } from './platform/topology.js'
import { createProfileRepository } from './profiles/repository.js'
import { createUserRepository } from './users/repository.js'

/**
 * The cluster primary: migrates (and seeds) once, starts the dev astro service if
 * there is no ASTRO_URL, forks WEB_CONCURRENCY workers, restarts a crashed worker
 * (with backoff, so a crash loop does not spin), and on SIGTERM/SIGINT stops them
 * gracefully before exiting.
 */
export async function runPrimary(config: Config, logger: AppLogger): Promise<void> {
  if (config.database.kind === 'postgres') {
    const databases = openPostgres({ ...config.database, poolMax: 2, poolMin: 1 })
    try {
      const applied = await migrate(databases)
      if (applied.length > 0) logger.info({ applied }, 'migrations applied')
      // The first topology is stored before any worker starts: workers only read it.
      const shards = createShards(databases.shards)
      const topology = await startTopology({ config, databases, shards, init: true, logger })
      await topology?.close()
      if (config.seed) {
        await seed(createUserRepository(shards), createProfileRepository(shards), config, logger)
      }
    } finally {
      await databases.close()
    }
  }
  const astro = config.astro.url
    ? undefined
    : await startAstroService({
        faults: { failureRate: config.astro.failureRate, latencyMs: config.astro.latencyMs },
      })
  if (astro) logger.info({ url: astro.url }, `astro service (embedded) listening on ${astro.url}`)
  const env = { CORP_ASTRO_WORKER: '1', ...(astro ? { ASTRO_URL: astro.url } : {}) }

  // Workers take connections from the shared listening socket themselves (SCHED_NONE)
  // instead of the primary accepting each one and handing it over (Node's round robin). A
  // connection handed to a worker that is stalled or dies before taking it stays open in the
  // primary and hangs until the client gives up; and under saturation the hand-over, one per
  // worker acknowledgement, held new connections past a 10 s client timeout. A connection a
  // worker never took stays in the kernel's queue for the other. NODE_CLUSTER_SCHED_POLICY=rr
  // restores Node's default.
  if (!process.env.NODE_CLUSTER_SCHED_POLICY) cluster.schedulingPolicy = cluster.SCHED_NONE

  let shuttingDown = false
  const restarts: number[] = []
  const fork = (): Worker => cluster.fork(env)
  cluster.on('exit', (worker, code, signal) => {
    if (shuttingDown) return
    const now = Date.now()
    restarts.push(now)
    while (restarts.length > 0 && restarts[0]! < now - 60_000) restarts.shift()
    const delay = Math.min(30_000, 250 * 2 ** Math.max(0, restarts.length - 1))
    logger.error({ pid: worker.process.pid, code, signal, restartInMs: delay }, 'worker died; restarting')
    setTimeout(fork, delay).unref()
  })
  let listening = 0
  cluster.on('listening', (_worker, address) => {
    listening++
    if (listening === config.webConcurrency) {
      logger.info(
        `corp-astro listening on http://${config.host}:${address.port} (${config.webConcurrency} workers)`,
      )
      if (config.env === 'development')
        process.stdout.write(tryItBanner(localUrl(config.host, address.port), config.seed))
    }
  })
  serveClusterMetrics()
  for (let i = 0; i < config.webConcurrency; i++) fork()

  const shutdown = (signal: NodeJS.Signals) => {
    if (shuttingDown) return
    shuttingDown = true
    logger.info({ signal }, 'shutting down workers')
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined)
    const exited = workers.map(
      (worker) => new Promise<void>((resolve) => worker.once('exit', () => resolve())),
    )
    for (const worker of workers) worker.process.kill('SIGTERM')
    const force = setTimeout(() => {
      for (const worker of workers) worker.process.kill('SIGKILL')
    }, 15_000)
    void Promise.all(exited).then(async () => {
      clearTimeout(force)
      await astro?.close()
      process.exit(0)
    })
  }
  process.once('SIGTERM', shutdown)
  process.once('SIGINT', shutdown)
}
