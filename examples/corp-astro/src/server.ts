import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createApp } from './app.js'
import type { Config } from './config.js'
import { type AppContext, type ContextOptions, createContext } from './context.js'
import { type AppLogger, createLogger } from './logger.js'

export interface RunningServer {
  readonly url: string
  readonly port: number
  readonly ctx: AppContext
  readonly server: Server
  /** Graceful: stop accepting, let requests in flight finish (up to `graceMs`), then release everything. */
  close(graceMs?: number): Promise<void>
}

/**
 * Builds the context and the app and listens on `config.port` (0 picks a free port).
 *
 * @example
 * const running = await startServer(loadConfig({ PORT: '0' }))
 * await fetch(`${running.url}/livez`)
 * await running.close()
 */
export async function startServer(
  config: Config,
  options: ContextOptions & { logger?: AppLogger } = {},
): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config)
  const ctx = await createContext(config, logger, options)
  const app = createApp(ctx)
  const server = createServer(app)
  // Longer than typical load balancer idle timeouts, so the balancer closes first.
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  server.requestTimeout = 30_000
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      // Node's default backlog (511) overflows when a burst of clients connects at once
      // (a deploy, a load balancer reconnecting): the kernel drops their SYNs and they
      // retry after 1, 3, 7 s. A larger queue costs only memory.
      server.listen({ port: config.port, host: config.host, backlog: config.listenBacklog }, resolve)
    })
  } catch (error) {
    await ctx.close()
    throw error
  }
  const { port } = server.address() as AddressInfo
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host
  let closing: Promise<void> | undefined

  return {
    url: `http://${host}:${port}`,
    port,
    ctx,
    server,
    close(graceMs = 10_000) {
      closing ??= (async () => {
        ctx.health.drain()
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        // Idle keep-alive sockets would hold close() open until they time out.
        server.closeIdleConnections()
        let timer: NodeJS.Timeout | undefined
        await Promise.race([
          closed,
          new Promise<void>((resolve) => {
            timer = setTimeout(() => {
              server.closeAllConnections()
              resolve()
            }, graceMs)
          }),
        ])
        clearTimeout(timer)
        await ctx.close()
      })()
      return closing
    },
  }
}
