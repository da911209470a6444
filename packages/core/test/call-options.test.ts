import { describe, expect, it } from 'vitest'
import { createCallOptionsCheck } from '../src/options/call-options.js'

describe('createCallOptionsCheck', () => {
  const check = createCallOptionsCheck('route', {
    write: 'boolean',
    session: 'string',
    priority: "'HIGH' | 'LOW' | 0..1000",
  })
  const shape = "{ write?: boolean, session?: string, priority?: 'HIGH' | 'LOW' | 0..1000 }"

  it('accepts undefined and objects of known keys', () => {
    expect(() => check(undefined)).not.toThrow()
    expect(() => check({})).not.toThrow()
    expect(() =>
      check({ write: true, session: 'u1', priority: 'anything: the caller checks it' }),
    ).not.toThrow()
    expect(() => check({ write: undefined })).not.toThrow()
  })

  it('refuses anything but an object, naming the shape', () => {
    expect(() => check(3600)).toThrowError(
      new TypeError(`Invalid route options: expected undefined or ${shape} (received 3600)`),
    )
    expect(() => check(null)).toThrow('(received null)')
    expect(() => check(['write'])).toThrow('Invalid route options')
  })

  it('refuses an unknown key, suggesting the closest known one', () => {
    expect(() => check({ writ: true })).toThrowError(
      new TypeError(`Invalid route option "writ": unknown option; did you mean "write"? (expected ${shape})`),
    )
    expect(() => check({ ttl: 1 })).toThrow(`Invalid route option "ttl": unknown option (expected ${shape})`)
  })

  it('checks the typeof of the options it can', () => {
    expect(() => check({ write: 'yes' })).toThrowError(
      new TypeError('Invalid route option "write": expected boolean (received "yes")'),
    )
    expect(() => check({ session: 42 })).toThrow(
      'Invalid route option "session": expected string (received 42)',
    )
  })

  it('does not mistake inherited object properties for known keys', () => {
    expect(() => check({ toString: 'x' })).toThrow('Invalid route option "toString": unknown option')
  })
})

describe('closestKey', () => {
  it('finds a near miss or an abbreviation, and nothing for an unrelated key', async () => {
    const { closestKey } = await import('../src/options/closest-key.js')
    expect(closestKey('gracee', ['ttl', 'grace'])).toBe('grace')
    expect(closestKey('timout', ['timeoutMs', 'ttl'])).toBe('timeoutMs')
    expect(closestKey('opts', ['name', 'data', 'options'])).toBe('options')
    expect(closestKey('LEASEMS', ['leaseMs'])).toBe('leaseMs')
    expect(closestKey('wirte', ['session', 'write'])).toBe('write')
    expect(closestKey('zzz', ['ttl', 'grace'])).toBeUndefined()
  })
})
