/**
 * The base of every error Headroom throws. `code` is a literal string a caller
 * can switch on; `cause` keeps the underlying error.
 */
export class HeadroomError<Code extends string = string> extends Error {
  readonly code: Code

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'HeadroomError'
  }
}

/** A class of {@link HeadroomError} bound to one code, made by {@link defineError}. */
export interface HeadroomErrorClass<Code extends string> {
  new (message?: string, options?: { cause?: unknown }): HeadroomError<Code>
  readonly code: Code
}

/**
 * Makes an error class for one code, with a default message.
 *
 * @example
 * export const QueueClosedError = defineError('E_QUEUE_CLOSED', 'The queue is closed')
 * throw new QueueClosedError()
 */
export function defineError<Code extends string>(
  code: Code,
  defaultMessage: string,
  name = toErrorName(code),
): HeadroomErrorClass<Code> {
  const ErrorClass = class extends HeadroomError<Code> {
    static readonly code = code
    constructor(message: string = defaultMessage, options?: { cause?: unknown }) {
      super(code, message, options)
      this.name = name
    }
  }
  Object.defineProperty(ErrorClass, 'name', { value: name })
  return ErrorClass
}

/** `E_CIRCUIT_OPEN` → `CircuitOpenError`. */
function toErrorName(code: string): string {
  return `${code
    .replace(/^E_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_, __, letter: string) => letter.toUpperCase())}Error`
}

/** An operation ran past its deadline. */
export const TimeoutError = defineError('E_TIMEOUT', 'The operation timed out')
/** A circuit breaker is open and refused the call. */
export const CircuitOpenError = defineError('E_CIRCUIT_OPEN', 'The circuit is open')
/** A rate limiter refused the call (thrown only by helpers that turn decisions into errors). */
export const RateLimitedError = defineError('E_RATE_LIMITED', 'The rate limit was exceeded')
/** Work was added to a queue after `close()`. */
export const QueueClosedError = defineError('E_QUEUE_CLOSED', 'The queue is closed')
/** A component was used after `close()`. */
export const ClosedError = defineError('E_CLOSED', 'The component is closed')
/** The backing store (Redis) could not be reached in time. */
export const StoreUnavailableError = defineError('E_STORE_UNAVAILABLE', 'The store is unavailable')
/** Work was refused to protect the process (load shedding, bounded waits). */
export const OverloadedError = defineError('E_OVERLOADED', 'The service is overloaded')
/** A value could not be serialised or deserialised. */
export const SerializationError = defineError('E_SERIALIZATION', 'The value could not be serialised')

/** The error classes `@headroom/core` defines, by code. */
export const errors = {
  E_TIMEOUT: TimeoutError,
  E_CIRCUIT_OPEN: CircuitOpenError,
  E_RATE_LIMITED: RateLimitedError,
  E_QUEUE_CLOSED: QueueClosedError,
  E_CLOSED: ClosedError,
  E_STORE_UNAVAILABLE: StoreUnavailableError,
  E_OVERLOADED: OverloadedError,
  E_SERIALIZATION: SerializationError,
} as const

/** Every code in {@link errors}. */
export type CoreErrorCode = keyof typeof errors

/**
 * True for any {@link HeadroomError}, or, given `code`, for one with that code.
 * Works across duplicated copies of the package (it checks the shape, not the prototype).
 */
export function isHeadroomError<Code extends string = string>(
  error: unknown,
  code?: Code,
): error is HeadroomError<Code> {
  if (!(error instanceof Error)) return false
  const candidate = error as Partial<HeadroomError>
  if (typeof candidate.code !== 'string') return false
  if (!(error instanceof HeadroomError) && !candidate.code.startsWith('E_')) return false
  return code === undefined || candidate.code === code
}

/** True for an error whose code is `E_TIMEOUT`. */
export const isTimeoutError = (error: unknown) => isHeadroomError(error, 'E_TIMEOUT')
