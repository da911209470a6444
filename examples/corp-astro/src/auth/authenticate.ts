import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { unauthorized } from '../http/problem.js'
import type { AccessClaims, TokenService } from './tokens.js'

declare global {
  namespace Express {
    interface Request {
      /** The verified access-token claims, when the request carried a valid token. */
      user?: AccessClaims
    }
  }
}

/**
 * Verifies a Bearer token when there is one and sets `req.user`; never refuses. It
 * runs before shedding and rate limiting, which need the caller's tier.
 */
export function identify(tokens: TokenService): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const token = bearerToken(req.headers.authorization)
    if (token !== undefined) {
      const claims = await tokens.verifyAccess(token)
      if (claims) req.user = claims
      else req.res!.locals.badToken = true
    }
    next()
  }
}

// RFC 9110 section 11.1: the auth scheme is case-insensitive (`bearer`, `BEARER`), and one or
// more spaces separate it from the credentials.
const BEARER = /^bearer +(\S.*)$/i

/** The credentials of a Bearer `Authorization` header, whatever the scheme's case; else undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return header ? BEARER.exec(header)?.[1]?.trim() : undefined
}

/** Refuses requests without a valid access token (401 problem+json). */
export const requireUser: RequestHandler = (req, res, next) => {
  if (req.user) return next()
  next(
    unauthorized(
      res.locals.badToken ? 'The access token is invalid or expired' : 'A Bearer token is required',
    ),
  )
}

/** The authenticated user's claims (after {@link requireUser}). */
export function userOf(req: Request): AccessClaims {
  if (!req.user) throw unauthorized()
  return req.user
}
