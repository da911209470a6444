import { pino } from 'pino'
import type { Config } from './config.js'

/** The app's pino logger; packages get children of it. */
export type AppLogger = pino.Logger

/** Makes the root logger; `silent` in tests unless LOG_LEVEL says otherwise. */
export function createLogger(config: Pick<Config, 'logLevel'>): AppLogger {
  return pino({ level: config.logLevel, base: { pid: process.pid, app: 'corp-astro' } })
}
