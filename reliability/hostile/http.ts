import { randomBytes } from 'node:crypto'

/** One answer, with the body parsed when it is JSON. */
export interface Answer {
  status: number
  headers: Headers
  text: string
  body: unknown
}

export interface SendOptions {
  headers?: Record<string, string>
  /** Sent as is when a string (raw JSON can carry `__proto__` as an own key), else JSON. */
  body?: unknown
  token?: string
  ip?: string
  /** Abort after this long: a hang is a failure, not a slow test. @default 15000 */
  timeoutMs?: number
}

/** Sends one request; never throws for an HTTP status, throws on a hang or a reset. */
export async function send(
  base: string,
  method: string,
  path: string,
  options: SendOptions = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'x-forwarded-for': options.ip ?? randomIp() }
  if (options.token) headers.authorization = `Bearer ${options.token}`
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  Object.assign(headers, options.headers)
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    ...(options.body !== undefined
      ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }
      : {}),
  })
  const text = await response.text()
  let body: unknown = text
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {}
  return { status: response.status, headers: response.headers, text, body }
}

export function randomIp(): string {
  const bytes = randomBytes(3)
  return `10.${bytes[0]}.${bytes[1]}.${bytes[2]}`
}

const STACK = /\n\s+at |node:internal|\/src\/.*\.ts|\bat [A-Za-z_$.]+ \(/

/**
 * The promise every answer keeps: never a 5xx; a 4xx is RFC 9457 problem+json whose
 * `status` matches and which carries no stack trace; a 2xx/304 is well formed.
 * Returns what is wrong, or undefined.
 */
export function brokenPromise(answer: Answer): string | undefined {
  const { status } = answer
  if (status >= 500) return `answered ${status}: ${answer.text.slice(0, 300)}`
  if (STACK.test(answer.text)) return `body carries a stack trace: ${answer.text.slice(0, 300)}`
  if (status >= 400) {
    const type = answer.headers.get('content-type') ?? ''
    if (!type.startsWith('application/problem+json')) return `${status} with content-type "${type}"`
    const body = answer.body as { status?: unknown; title?: unknown; stack?: unknown } | undefined
    if (typeof body !== 'object' || body === null)
      return `${status} body is not JSON: ${answer.text.slice(0, 200)}`
    if (body.status !== status) return `${status} body says status ${String(body.status)}`
    if (typeof body.title !== 'string') return `${status} body has no title`
    if ('stack' in body) return `${status} body has a stack field`
    if (status === 429 && !answer.headers.get('retry-after')) return '429 without Retry-After'
    return undefined
  }
  if (status === 204 || status === 304) return undefined
  if (status >= 200 && status < 300) {
    const type = answer.headers.get('content-type') ?? ''
    if (type.startsWith('application/json') && typeof answer.body !== 'object')
      return `${status} with a body that is not JSON`
    return undefined
  }
  return `unexpected status ${status}`
}
