import { afterEach, describe, expect, it } from 'vitest'
import { type HostileApp, startHostileApp } from '../hostile/app.js'
import { brokenPromise, send } from '../hostile/http.js'

// The auth group allows 20 requests a minute per client IP (platform/rate-limit.ts).
const AUTH_LIMIT = 20

/** Logout with an unknown token: auth-limited, cheap (no scrypt), and always 204 when allowed. */
const logout = (app: HostileApp, forwardedFor: string) =>
  send(app.base, 'POST', '/api/auth/logout', {
    body: { refreshToken: 'nobody.nothing.nowhere' },
    headers: { 'x-forwarded-for': forwardedFor },
  })

describe('rate-limit keys and X-Forwarded-For', () => {
  let app: HostileApp | undefined
  afterEach(async () => {
    await app?.close()
    app = undefined
  })

  it('without trust proxy, a spoofed X-Forwarded-For per request does not buy a fresh limit', async () => {
    app = await startHostileApp({ TRUST_PROXY: 'false' })
    const statuses: number[] = []
    for (let i = 0; i < AUTH_LIMIT + 5; i++) {
      const res = await logout(app, `203.0.113.${i}, 198.51.100.${i}`)
      expect(brokenPromise(res)).toBeUndefined()
      statuses.push(res.status)
    }
    // Every request came from 127.0.0.1: the limit holds whatever the header says.
    expect(statuses.slice(0, AUTH_LIMIT).every((s) => s === 204)).toBe(true)
    expect(statuses.slice(AUTH_LIMIT).every((s) => s === 429)).toBe(true)
    const refused = await logout(app, '192.0.2.77')
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
  }, 90_000)

  it('with trust proxy, the client address from X-Forwarded-For is the key (the control)', async () => {
    app = await startHostileApp({ TRUST_PROXY: 'true' })
    for (let i = 0; i < AUTH_LIMIT + 5; i++) {
      const res = await logout(app, `203.0.113.${i}`)
      expect(res.status).toBe(204)
    }
    // One address still gets exactly its own 20.
    const own: number[] = []
    for (let i = 0; i < AUTH_LIMIT + 2; i++) own.push((await logout(app, '198.51.100.9')).status)
    expect(own.filter((s) => s === 429).length).toBe(2)
    // IPv6 clients are keyed by /56: rotating the low bits of one /56 does not escape.
    const v6: number[] = []
    for (let i = 0; i < AUTH_LIMIT + 3; i++)
      v6.push((await logout(app, `2001:db8:0:ab${i.toString(16).padStart(2, '0')}::${i + 1}`)).status)
    expect(v6.filter((s) => s === 429).length).toBe(3)
  }, 90_000)
})
