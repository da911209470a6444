import type { Logger } from '@headroom/core'
import { pino } from 'pino'
import type { Config } from './config.js'

/** The app's pino logger; packages get children of it. */
export type AppLogger = pino.Logger

/**
 * Paths pino blanks out before a line is written. The request log pino-http writes
 * carries every request header, and a bearer token or session cookie in a log file
 * can be replayed by anyone who reads it; bodies are not serialized today, but a
 * password or refresh token logged by mistake (`log.info({ body })`) is covered too.
 */
export const REDACTED_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-refresh-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'password',
  'refreshToken',
  'accessToken',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.refreshToken',
  '*.accessToken',
  'req.body.password',
  'req.body.refreshToken',
]

const REDACTED_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-refresh-token',
])

/** A copy of `headers` with every credential-bearing header replaced by `[Redacted]`. */
function redactHeaders(headers: unknown): unknown {
  if (headers === null || typeof headers !== 'object') return headers
  const copy: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(headers))
    copy[name] = REDACTED_HEADERS.has(name.toLowerCase()) ? '[Redacted]' : value
  return copy
}

/**
 * pino-http serializers that drop credential headers from request and response log
 * lines. The root logger's `redact` already does this, but an app embedded with an
 * injected logger (tests, a host's own pino) would not have it: the request log must
 * not depend on how the logger was made.
 */
export const httpLogSerializers = {
  req: (req: { headers?: unknown }) => ({ ...req, headers: redactHeaders(req.headers) }),
  res: (res: { headers?: unknown }) => ({ ...res, headers: redactHeaders(res.headers) }),
}

/**
 * Makes the root logger; `silent` in tests unless LOG_LEVEL says otherwise. Secrets
 * are redacted (see {@link REDACTED_PATHS}).
 *
 * @example
 * const logger = createLogger({ logLevel: 'info' })
 * logger.info({ req: { headers: { authorization: 'Bearer x' } } }) // "authorization":"[Redacted]"
 */
export function createLogger(
  config: Pick<Config, 'logLevel'>,
  destination?: pino.DestinationStream,
): AppLogger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    base: { pid: process.pid, app: 'corp-astro' },
    redact: { paths: [...REDACTED_PATHS], censor: '[Redacted]' },
  }
  return destination ? pino(options, destination) : pino(options)
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
