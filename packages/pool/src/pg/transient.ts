// Which Postgres failures are worth running again. A retry is safe only where the
// server guarantees the failed attempt changed nothing: it rolled back the transaction
// (serialization failure, deadlock victim) or the session died before a commit.

/** 40001 serialization_failure, 40P01 deadlock_detected: the server rolled the transaction back. */
const CONFLICT_SQLSTATES = new Set(['40001', '40P01'])

/**
 * Sessions that ended under the statement: class 08 (connection exception),
 * 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now.
 */
const LOST_SQLSTATES = new Set(['57P01', '57P02', '57P03'])
// ETIMEDOUT is not among them: a timeout says the server is slow, and another try waits as long again.
const LOST_SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTCONN', 'EHOSTUNREACH'])
// pg reports a socket that closed under a query with these messages (no code). Its
// "Connection terminated due to connection timeout" is a timeout, not a loss.
const LOST_MESSAGE =
  /^Connection terminated(?! due to connection timeout)|^Client has encountered a connection error|^Connection ended unexpectedly/

/** True for a serialization failure (40001) or a deadlock (40P01). */
export function isConflictError(error: unknown): boolean {
  return CONFLICT_SQLSTATES.has(codeOf(error) ?? '')
}

/** True when the connection was lost or refused: the statement did not commit. */
export function isConnectionLostError(error: unknown): boolean {
  const code = codeOf(error)
  if (
    code !== undefined &&
    (code.startsWith('08') || LOST_SQLSTATES.has(code) || LOST_SOCKET_CODES.has(code))
  )
    return true
  const message = (error as { message?: unknown } | null)?.message
  return typeof message === 'string' && LOST_MESSAGE.test(message)
}

/**
 * The default `isTransient` of the query helpers: a conflict or a lost connection.
 * A constraint violation, a syntax error or a cancelled statement (57014, the timeout)
 * is final: running it again gives the same answer.
 */
export function isTransientPgError(error: unknown): boolean {
  return isConflictError(error) || isConnectionLostError(error)
}

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}
