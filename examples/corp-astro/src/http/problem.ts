import { isHeadroomError } from '@headroom/core'
import { markDependencyFailure } from '@headroom/health/http'
import type { ErrorRequestHandler, RequestHandler, Response } from 'express'

const TRANSIENT = new Set(['E_TIMEOUT', 'E_CLOSED', 'E_OVERLOADED', 'E_STORE_UNAVAILABLE', 'E_CIRCUIT_OPEN'])

/** Socket-level codes Node and pg use when a database cannot be reached. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  // Postgres: query_canceled (statement_timeout), admin_shutdown, crash_shutdown,
  // cannot_connect_now, too_many_connections.
  '57014',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  // A write to a user whose rows are being cut over to another shard database (the move's
  // fence, @headroom/shard/postgres): it succeeds on retry within the move's pause bound.
  'HR503',
])

/**
 * Messages pg writes for a connection that died or could not be made, or a query past the
 * client-side `query_timeout` (no code set).
 */
const CONNECTION_MESSAGES =
  /connection terminated|query read timeout|timeout exceeded when trying to connect|connection timeout|connection (?:is )?closed|client has encountered a connection error|cannot use a pool after calling end/i

/**
 * True when an error means a dependency is unreachable or refusing work for now, not
 * that the request or our code is wrong: Headroom's transient errors (store down,
 * circuit open, timeout, overloaded, closed) and pg connection failures, including
 * class 08 SQLSTATEs. Follows `cause` and AggregateError members a few levels deep,
 * since wrappers (breakers, pools) put the pg error underneath.
 */
export function isDependencyUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 4 || error === null || typeof error !== 'object') return false
  if (isHeadroomError(error) && TRANSIENT.has(error.code)) return true
  const candidate = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown }
  if (typeof candidate.code === 'string') {
    if (CONNECTION_CODES.has(candidate.code)) return true
    // SQLSTATE class 08: connection exception (08000, 08001, 08003, 08004, 08006, ...).
    if (/^08[0-9A-Z]{3}$/.test(candidate.code)) return true
  }
  if (typeof candidate.message === 'string' && CONNECTION_MESSAGES.test(candidate.message)) return true
  if (Array.isArray(candidate.errors) && candidate.errors.some((e) => isDependencyUnavailable(e, depth + 1)))
    return true
  return isDependencyUnavailable(candidate.cause, depth + 1)
}

/** Seconds a client should wait before retrying a request that met a dependency outage. */
export const DEPENDENCY_RETRY_AFTER_SECONDS = 1

/** One invalid field in a 400 answer. */
export interface FieldError {
  field: string
  message: string
}

/**
 * An error that becomes an RFC 9457 problem+json answer. Anything else thrown in a
 * handler becomes a 500 whose body never carries the message or stack.
 */
export class HttpProblem extends Error {
  readonly status: number
  readonly title: string
  readonly type: string
  readonly errors: FieldError[] | undefined
  readonly headers: Record<string, string>

  constructor(
    status: number,
    title: string,
    detail?: string,
    extra: { errors?: FieldError[]; type?: string; headers?: Record<string, string> } = {},
  ) {
    super(detail ?? title)
    this.status = status
    this.title = title
    this.type = extra.type ?? 'about:blank'
    this.errors = extra.errors
    this.headers = extra.headers ?? {}
  }
}

export const badRequest = (detail: string, errors?: FieldError[]) =>
  new HttpProblem(400, 'Bad Request', detail, errors ? { errors, type: '/problems/validation' } : {})
export const unauthorized = (detail = 'Missing or invalid credentials') =>
  new HttpProblem(401, 'Unauthorized', detail, { headers: { 'www-authenticate': 'Bearer' } })
export const forbidden = (detail = 'You may not do this') => new HttpProblem(403, 'Forbidden', detail)
export const notFound = (what = 'Resource') => new HttpProblem(404, 'Not Found', `${what} not found`)
export const conflict = (detail: string) => new HttpProblem(409, 'Conflict', detail)
export const unavailable = (detail: string, retryAfterSeconds = DEPENDENCY_RETRY_AFTER_SECONDS) =>
  new HttpProblem(503, 'Service Unavailable', detail, {
    headers: { 'retry-after': String(retryAfterSeconds) },
  })

/** Writes a problem+json body. */
export function sendProblem(
  res: Response,
  status: number,
  body: { title: string; detail?: string; type?: string; [key: string]: unknown },
): void {
  res
    .status(status)
    .type('application/problem+json')
    .json({ type: 'about:blank', status, ...body, instance: res.req.originalUrl })
}

/** 404 for routes nobody handles. */
export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, 404, { title: 'Not Found', detail: `No route for ${req.method} ${req.path}` })
}

/** The last middleware: every error leaves as problem+json, never as a stack trace. */
export const problemHandler: ErrorRequestHandler = (error, req, res, _next) => {
  if (res.headersSent) {
    res.destroy()
    return
  }
  if (error instanceof HttpProblem) {
    // The app's own 503s (`unavailable()`) are all a dependency refusing work (the queue's Redis).
    if (error.status === 503) markDependencyFailure(res)
    res.set(error.headers)
    sendProblem(res, error.status, {
      type: error.type,
      title: error.title,
      detail: error.message,
      ...(error.errors ? { errors: error.errors } : {}),
    })
    return
  }
  // A dependency that timed out, is shut down, overloaded or refusing connections
  // (a shard database down): the request may succeed later, so say so (503 +
  // Retry-After) and clients and load balancers back off instead of seeing a bug.
  if (isDependencyUnavailable(error)) {
    req.log?.warn({ err: error }, 'dependency unavailable')
    // Not this process's failure: the health monitor keeps it out of the error rate, since a
    // failing dependency is not overload and shedding healthy users would not bring it back.
    markDependencyFailure(res)
    res.setHeader('retry-after', String(DEPENDENCY_RETRY_AFTER_SECONDS))
    sendProblem(res, 503, {
      title: 'Service Unavailable',
      detail: 'A dependency is unavailable; retry shortly',
    })
    return
  }
  // body-parser errors carry a status (400 bad JSON, 413 too large, 415).
  const status =
    typeof error?.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500
  if (status === 500) req.log?.error({ err: error }, 'unhandled error')
  sendProblem(res, status, {
    title:
      status === 500 ? 'Internal Server Error' : String(error?.type ?? 'Bad Request').replace(/\./g, ' '),
    detail: status === 500 ? 'Something went wrong on our side' : String(error?.message ?? 'Bad request'),
  })
}
