/**
 * Entry point (`pnpm start`): one process, or a node:cluster primary with
 * WEB_CONCURRENCY workers. Configuration comes from the environment (see .env.example).
 */
import cluster from 'node:cluster'
import { runPrimary } from './cluster.js'
import { type Config, loadConfig } from './config.js'
import { tryItBanner } from './http/try-it.js'
import { createLogger } from './logger.js'
import { type RunningServer, startServer } from './server.js'

let config: Config
try {
  config = loadConfig(process.env)
} catch (error) {
  console.error((error as Error).message)
  process.exit(1)
}
const logger = createLogger(config)

if (config.webConcurrency > 1 && cluster.isPrimary) {
  await runPrimary(config, logger)
} else {
  const worker = process.env.CORP_ASTRO_WORKER === '1'
  let running: RunningServer | undefined
  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    // Still starting: nothing to drain, and an unfinished migration rolls back on its own.
    if (!running) process.exit(0)
    const force = setTimeout(() => process.exit(1), 20_000)
    force.unref()
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'error during shutdown')
        process.exit(1)
      },
    )
  }
  // Installed before the (slow) start, so Ctrl-C during it is graceful too.
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  running = await startServer(config, { logger, migrate: !worker }).catch((error: unknown) => {
    logger.fatal({ err: error }, 'could not start')
    process.exit(1)
  })
  if (!worker) {
    logger.info(
      `corp-astro listening on ${running.url} (${config.database.kind === 'pglite' ? 'PGlite in-process' : 'Postgres'}, ${
        running.ctx.redis ? 'Redis' : 'memory stores'
      }, Headroom ${config.headroom ? 'on' : 'off'})`,
    )
    if (config.env === 'development') process.stdout.write(tryItBanner(running.url, config.seed))
  }
}
