import type { Request, RequestHandler, Response } from 'express'

/**
 * Runs a middleware that only sets fixed response headers (helmet with static options)
 * once, records what it set and removed, and returns one middleware that applies the
 * same headers. helmet() is a chain of a dozen middlewares, each a `next()` hop per
 * request; its headers do not depend on the request, so computing them per request is
 * waste. Throws when the middleware does not call `next()` synchronously or reads the
 * request, i.e. when its headers might not be fixed.
 *
 * @example app.use(fixedHeaders(helmet()))
 */
export function fixedHeaders(middleware: RequestHandler): RequestHandler {
  const set = new Map<string, string | number | readonly string[]>()
  const removed = new Set<string>()
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      set.set(name, value)
      removed.delete(name.toLowerCase())
    },
    removeHeader(name: string) {
      set.delete(name)
      removed.add(name.toLowerCase())
    },
  }
  const request = new Proxy(
    {},
    {
      get(_target, property) {
        throw new Error(
          `fixedHeaders: the middleware read req.${String(property)}; its headers are not fixed`,
        )
      },
    },
  )
  let called = false
  let failure: unknown
  middleware(request as Request, recorder as unknown as Response, (error?: unknown) => {
    called = true
    failure = error
  })
  if (!called || failure) {
    throw new Error('fixedHeaders: the middleware did not call next() synchronously without an error', {
      cause: failure,
    })
  }
  const headers = [...set]
  const removals = [...removed]
  return (_req, res, next) => {
    for (const name of removals) res.removeHeader(name)
    for (const [name, value] of headers) res.setHeader(name, value)
    next()
  }
}
