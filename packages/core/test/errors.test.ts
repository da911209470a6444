import { describe, expect, it } from 'vitest'
import {
  CircuitOpenError,
  defineError,
  errors,
  HeadroomError,
  isHeadroomError,
  isTimeoutError,
  TimeoutError,
} from '../src/errors.js'

describe('errors', () => {
  it('carries a literal code, a message, a name and the cause', () => {
    const cause = new Error('socket closed')
    const error = new TimeoutError('Redis GET timed out', { cause })
    expect(error).toBeInstanceOf(HeadroomError)
    expect(error).toBeInstanceOf(Error)
    expect(error.code).toBe('E_TIMEOUT')
    expect(error.name).toBe('TimeoutError')
    expect(error.message).toBe('Redis GET timed out')
    expect(error.cause).toBe(cause)
  })

  it('has a default message per code', () => {
    expect(new CircuitOpenError().message).toBe('The circuit is open')
    expect(new CircuitOpenError().name).toBe('CircuitOpenError')
  })

  it('maps every core code to its class', () => {
    for (const [code, ErrorClass] of Object.entries(errors)) {
      expect(new ErrorClass().code).toBe(code)
      expect(ErrorClass.code).toBe(code)
    }
  })

  it('defines package-specific errors', () => {
    const LockTimeout = defineError('E_LOCK_TIMEOUT', 'The lock was not acquired in time')
    const error = new LockTimeout()
    expect(error.code).toBe('E_LOCK_TIMEOUT')
    expect(error.name).toBe('LockTimeoutError')
    expect(LockTimeout.name).toBe('LockTimeoutError')
    expect(isHeadroomError(error, 'E_LOCK_TIMEOUT')).toBe(true)
  })

  it('guards by shape and code', () => {
    expect(isHeadroomError(new TimeoutError())).toBe(true)
    expect(isTimeoutError(new TimeoutError())).toBe(true)
    expect(isTimeoutError(new CircuitOpenError())).toBe(false)
    expect(isHeadroomError(new Error('plain'))).toBe(false)
    expect(isHeadroomError({ code: 'E_TIMEOUT' })).toBe(false)
    expect(isHeadroomError(null)).toBe(false)
    // A copy of the class from a second install of the package still matches by shape.
    const foreign = Object.assign(new Error('x'), { code: 'E_TIMEOUT' })
    expect(isHeadroomError(foreign, 'E_TIMEOUT')).toBe(true)
    // A Node system error (ECONNREFUSED) is not one of ours.
    expect(isHeadroomError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(false)
  })
})
