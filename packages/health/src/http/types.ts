import type { IncomingMessage, ServerResponse } from 'node:http'

/** Express-style continuation: called when a middleware lets the request through. */
export type Next = (error?: unknown) => void

/** A `node:http` handler that Express also accepts (`app.get('/livez', handler)`). */
export type Handler = (req: IncomingMessage, res: ServerResponse, next?: Next) => void

/** Marks a response refused by `shedLoad`, so request tracking does not count it as a failure. */
export const SHED = Symbol.for('headroom.health.shed')

/** Marks a response refused because a dependency is unavailable (see `markDependencyFailure`). */
export const DEPENDENCY_FAILURE = Symbol.for('headroom.health.dependencyFailure')

/** Holds a response's timing record when trackRequests runs with `timing` (see `requestTiming`). */
export const TIMING = Symbol.for('headroom.health.timing')

/** Writes a JSON body with no caching (probe answers must never be cached by a proxy). */
export function sendJson(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: unknown,
  head = false,
): void {
  const text = JSON.stringify(body)
  res.statusCode = status
  res.setHeader('content-type', `${contentType}; charset=utf-8`)
  res.setHeader('cache-control', 'no-store')
  res.setHeader('content-length', Buffer.byteLength(text))
  res.end(head ? undefined : text)
}
