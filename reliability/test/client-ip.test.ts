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
  // The control (with trust proxy, each forwarded client has its own limit) runs in
  // security.test.ts, whose app trusts the proxy: one app start fewer on a busy box.

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
})
