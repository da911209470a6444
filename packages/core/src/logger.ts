/** One pino-style log method: `(obj, msg)` or `(msg)`. */
export interface LogFn {
  (obj: object, msg?: string, ...args: unknown[]): void
  (msg: string, ...args: unknown[]): void
}

/**
 * The logger every component accepts: pino's shape, so a pino logger (or a child)
 * plugs in as it is.
 */
export interface Logger {
  trace: LogFn
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
  child?(bindings: Record<string, unknown>): Logger
}

const noop: LogFn = () => {}

/** The default logger: says nothing. */
export const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
}

/** A child logger tagged with the component's name, or the logger itself if it has no `child`. */
export function childLogger(logger: Logger | undefined, bindings: Record<string, unknown>): Logger {
  if (!logger) return silentLogger
  return logger.child ? logger.child(bindings) : logger
}
