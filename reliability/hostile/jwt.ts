import { createHmac } from 'node:crypto'

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')

/** Claims shaped like the app's access tokens (iss, aud, sub, tier, role, sid, iat, exp). */
export function claims(sub: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return {
    sub,
    tier: 'premium',
    role: 'admin',
    sid: '00000000-0000-4000-8000-000000000000',
    iss: 'corp-astro',
    aud: 'corp-astro-api',
    iat: now,
    exp: now + 600,
    ...overrides,
  }
}

/** Signs `payload` with HMAC (`hash` sha256/384/512) under `header`, whatever `header.alg` claims. */
export function hmacToken(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  secret: string | Buffer,
  hash: 'sha256' | 'sha384' | 'sha512' = 'sha256',
): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`
}

/** An unsigned token (`alg: none`), with an empty or a junk signature part. */
export function unsignedToken(payload: Record<string, unknown>, alg = 'none', signature = ''): string {
  return `${b64({ alg, typ: 'JWT' })}.${b64(payload)}.${signature}`
}

/** `token` with its payload replaced but its original signature kept. */
export function tamper(
  token: string,
  change: (payload: Record<string, unknown>) => Record<string, unknown>,
): string {
  const [header, payload, signature] = token.split('.')
  const decoded = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<string, unknown>
  return `${header}.${b64(change(decoded))}.${signature}`
}
