import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ProbeAnswer } from './probe-answers.js'

/** Express-style continuation: called when a middleware lets the request through. */
export type Next = (error?: unknown) => void

/** A `node:http` handler that Express also accepts (`app.get('/livez', handler)`). */
export type Handler = (req: IncomingMessage, res: ServerResponse, next?: Next) => void

/** Writes a probe answer as JSON with no caching (probe answers must never be cached by a proxy). */
export function sendJson(res: ServerResponse, answer: ProbeAnswer, head = false): void {
  const text = JSON.stringify(answer.body)
  res.statusCode = answer.status
  res.setHeader('content-type', `${answer.contentType}; charset=utf-8`)
  res.setHeader('cache-control', 'no-store')
  res.setHeader('content-length', Buffer.byteLength(text))
  res.end(head ? undefined : text)
}
