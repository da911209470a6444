import type { Logger } from '@headroom/core'
import { pino } from 'pino'
import type { Config } from './config.js'

/** The app's pino logger; packages get children of it. */
export type AppLogger = pino.Logger

/** Makes the root logger; `silent` in tests unless LOG_LEVEL says otherwise. */
export function createLogger(config: Pick<Config, 'logLevel'>): AppLogger {
  return pino({ level: config.logLevel, base: { pid: process.pid, app: 'corp-astro' } })
}

/**
 * A pino logger whose methods keep their `this` when a component takes one off the
 * object (`const log = logger.warn`), which plain pino methods do not survive.
 * Workaround for @headroom/health's monitor, which logs status changes that way.
 */
export function boundLogger(logger: AppLogger): Logger {
  return {
    trace: logger.trace.bind(logger),
    debug: logger.debug.bind(logger),
    info: logger.info.bind(logger),
    warn: logger.warn.bind(logger),
    error: logger.error.bind(logger),
    child: (bindings) => boundLogger(logger.child(bindings)),
  }
}
