import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose'

/** What an access token says about its bearer. */
export interface AccessClaims {
  /** User id. */
  sub: string
  tier: Tier
  role: Role
  /** Session (refresh-token family) id, so logout can end it. */
  sid: string
}

export type Tier = 'free' | 'basic' | 'premium'
export type Role = 'user' | 'admin'

/** Signs and verifies access tokens (HS256). */
export interface TokenService {
  signAccess(claims: AccessClaims): Promise<string>
  /** Resolves the claims, or null for an expired, forged or malformed token. */
  verifyAccess(token: string): Promise<AccessClaims | null>
  readonly accessTtlSeconds: number
  readonly refreshTtlSeconds: number
}

const ISSUER = 'corp-astro'
const AUDIENCE = 'corp-astro-api'

/**
 * @example
 * const tokens = createTokenService({ secret, accessTtlSeconds: 900, refreshTtlSeconds: 2_592_000 })
 * const jwt = await tokens.signAccess({ sub, tier: 'free', role: 'user', sid })
 */
export function createTokenService(options: {
  secret: string
  accessTtlSeconds: number
  refreshTtlSeconds: number
}): TokenService {
  const key = new TextEncoder().encode(options.secret)
  // Verified tokens, by their full text (signature included), until they expire: an HMAC
  // check per request is the largest fixed cost of an authenticated request.
  const verified = new Map<string, { claims: AccessClaims; expMs: number }>()
  const MAX_VERIFIED = 20_000
  return {
    accessTtlSeconds: options.accessTtlSeconds,
    refreshTtlSeconds: options.refreshTtlSeconds,
    async signAccess(claims) {
      return new SignJWT({ tier: claims.tier, role: claims.role, sid: claims.sid })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(claims.sub)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(`${options.accessTtlSeconds}s`)
        .sign(key)
    },
    async verifyAccess(token) {
      const hit = verified.get(token)
      if (hit) {
        if (hit.expMs > Date.now()) return hit.claims
        verified.delete(token)
      }
      try {
        const { payload } = await jwtVerify(token, key, {
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ['HS256'],
        })
        const { sub, tier, role, sid } = payload as Partial<AccessClaims>
        if (typeof sub !== 'string' || typeof sid !== 'string') return null
        if (tier !== 'free' && tier !== 'basic' && tier !== 'premium') return null
        if (role !== 'user' && role !== 'admin') return null
        const claims: AccessClaims = { sub, tier, role, sid }
        if (typeof payload.exp === 'number') {
          // Oldest first: a Map iterates in insertion order.
          if (verified.size >= MAX_VERIFIED) verified.delete(verified.keys().next().value!)
          verified.set(token, { claims, expMs: payload.exp * 1000 })
        }
        return claims
      } catch (error) {
        if (error instanceof joseErrors.JOSEError) return null
        throw error
      }
    },
  }
}

/** A refresh token: `<userId>.<tokenId>.<secret>`; the ids route it to the right shard and row. */
export interface RefreshToken {
  token: string
  id: string
  hash: string
}

export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('base64url')

/** Makes a new opaque refresh token for `userId`. */
export function newRefreshToken(userId: string): RefreshToken {
  const id = randomUUID()
  const secret = randomBytes(32).toString('base64url')
  return { token: `${userId}.${id}.${secret}`, id, hash: hashSecret(secret) }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Splits a refresh token, or null when it is not one of ours. */
export function parseRefreshToken(token: string): { userId: string; id: string; hash: string } | null {
  const [userId, id, secret, extra] = token.split('.')
  if (!userId || !id || !secret || extra !== undefined) return null
  if (!UUID.test(userId) || !UUID.test(id)) return null
  return { userId, id, hash: hashSecret(secret) }
}

export const isUuid = (value: string) => UUID.test(value)
