import type { Server } from 'node:http'
import { childLogger, type Logger } from '@headroom/core'
import { MAX_TIMER_MS } from '../shared/timer-ms.js'

/** Options of {@link gracefulShutdown}. */
export interface GracefulShutdownOptions {
  /** The HTTP server to drain. */
  server: Server
  /** Marked draining first, so `/readyz` answers 503 while load balancers catch up; closed last. */
  monitor?: { setDraining(draining?: boolean): void; close(): void }
  /** Time between "not ready" and closing the listener, for load balancers to stop sending, ms. @default 5000 */
  drainDelayMs?: number
  /** Time in-flight requests get to finish before their connections are cut, ms. @default 30000 */
  timeoutMs?: number
  /** Cleanup after the server closed (database pools, Redis, queues). @default none */
  onShutdown?: () => unknown
  /** Signals that start the shutdown; once done, the signal is raised again so the process exits as usual. @default ['SIGTERM', 'SIGINT'] */
  signals?: readonly NodeJS.Signals[]
  /** @default silent */
  logger?: Logger
}

/** A registered shutdown sequence. */
export interface GracefulShutdown {
  /** Runs the sequence once (later calls share the same promise). */
  shutdown(): Promise<void>
  readonly shuttingDown: boolean
  /** Removes the signal handlers (tests, hot reload). */
  dispose(): void
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Stops a server the way Kubernetes expects: readiness goes to 503, the listener
 * stays open for `drainDelayMs` while endpoints update, then it stops accepting,
 * idle keep-alive connections close, in-flight requests get up to `timeoutMs`,
 * `onShutdown` runs, and the monitor closes.
 *
 * @example
 * gracefulShutdown({ server, monitor, onShutdown: () => Promise.all([pool.end(), redis.quit()]) })
 */
export function gracefulShutdown(options: GracefulShutdownOptions): GracefulShutdown {
  const { server, monitor } = options
  const drainDelayMs = options.drainDelayMs ?? 5000
  const timeoutMs = options.timeoutMs ?? 30_000
  const logger = childLogger(options.logger, { component: 'health-shutdown' })
  const signals = options.signals ?? ['SIGTERM', 'SIGINT']
  for (const [name, value] of [
    ['drainDelayMs', drainDelayMs],
    ['timeoutMs', timeoutMs],
  ] as const) {
    if (!(Number.isFinite(value) && value >= 0 && value <= MAX_TIMER_MS))
      throw new TypeError(
        `Invalid gracefulShutdown option "${name}": expected a number from 0 to ${MAX_TIMER_MS} (received ${value})`,
      )
  }
  let running: Promise<void> | undefined

  const closeServer = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve()
      const force = setTimeout(() => {
        logger.warn({ timeoutMs }, 'in-flight requests did not finish in time; closing their connections')
        server.closeAllConnections()
      }, timeoutMs)
      // Keep-alive connections with no request in flight would hold close() open until
      // their keep-alive timeout; those whose last request finishes later become idle
      // too, so they are swept until the server has closed.
      const sweep = setInterval(() => server.closeIdleConnections(), 50)
      server.close(() => {
        clearTimeout(force)
        clearInterval(sweep)
        resolve()
      })
      server.closeIdleConnections()
    })

  const shutdown = () => {
    running ??= (async () => {
      logger.info({ drainDelayMs }, 'shutting down: not ready any more')
      monitor?.setDraining(true)
      // Responses from now on ask clients not to reuse the connection.
      server.prependListener('request', (_req, res) => res.setHeader('connection', 'close'))
      if (drainDelayMs > 0) await delay(drainDelayMs)
      await closeServer()
      try {
        await options.onShutdown?.()
      } catch (error) {
        logger.error({ err: error }, 'onShutdown failed')
      }
      monitor?.close()
      logger.info('shutdown complete')
    })()
    return running
  }

  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutdown signal')
    void shutdown().finally(() => {
      dispose()
      // Raised again with our handlers gone: the process exits with the usual code for the signal.
      process.kill(process.pid, signal)
    })
  }
  for (const signal of signals) process.on(signal, onSignal)
  const dispose = () => {
    for (const signal of signals) process.off(signal, onSignal)
  }

  return {
    shutdown,
    get shuttingDown() {
      return running !== undefined
    },
    dispose,
  }
}
