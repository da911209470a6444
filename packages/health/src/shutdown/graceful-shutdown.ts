import type { Server } from 'node:http'
import {
  type Clock,
  childLogger,
  type Logger,
  parseOptions,
  sleep,
  systemClock,
  tiedTo,
} from '@headroom/core'
import { z } from 'zod'
import { timerMs } from '../shared/timer-ms.js'

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
  /** Times the drain delay and `timeoutMs` (tests drive it by hand). @default systemClock */
  clock?: Clock
}

/** A registered shutdown sequence. */
export interface GracefulShutdown {
  /** Runs the sequence once (later calls share the same promise). */
  shutdown(): Promise<void>
  readonly shuttingDown: boolean
  /** Removes the signal handlers (tests, hot reload). */
  dispose(): void
}

const object = <T>(what: string) =>
  z.custom<T>((v) => typeof v === 'object' && v !== null, `Expected ${what}`)

const schema = tiedTo<GracefulShutdownOptions>()(
  z.strictObject({
    server: object<Server>('an http.Server'),
    monitor: object<NonNullable<GracefulShutdownOptions['monitor']>>(
      'a monitor ({ setDraining, close })',
    ).optional(),
    drainDelayMs: timerMs().default(5000),
    timeoutMs: timerMs().default(30_000),
    onShutdown: z.custom<() => unknown>((v) => typeof v === 'function', 'Expected a function').optional(),
    signals: z
      .array(z.custom<NodeJS.Signals>((v) => typeof v === 'string', 'Expected a signal name'))
      .readonly()
      .default(['SIGTERM', 'SIGINT']),
    logger: object<Logger>('a pino-compatible logger').optional(),
    clock: object<Clock>('a Clock').default(systemClock),
  }),
)

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
  const { server, monitor, drainDelayMs, timeoutMs, signals, clock, onShutdown, ...rest } = parseOptions(
    'gracefulShutdown',
    schema,
    options,
  )
  const logger = childLogger(rest.logger, { component: 'health-shutdown' })
  let running: Promise<void> | undefined

  const closeServer = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve()
      const force = clock.setTimeout(() => {
        logger.warn({ timeoutMs }, 'in-flight requests did not finish in time; closing their connections')
        server.closeAllConnections()
      }, timeoutMs)
      // Keep-alive connections with no request in flight would hold close() open until
      // their keep-alive timeout; those whose last request finishes later become idle
      // too, so they are swept until the server has closed (a poll of the sockets, not a
      // deadline: it runs on real time whatever the clock).
      const sweep = setInterval(() => server.closeIdleConnections(), 50)
      server.close(() => {
        clock.clearTimeout(force)
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
      if (drainDelayMs > 0) await sleep(drainDelayMs, clock)
      await closeServer()
      try {
        await onShutdown?.()
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
