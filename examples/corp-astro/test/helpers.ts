import { randomBytes } from 'node:crypto'
import { loadConfig } from '../src/config.js'
import { type RunningServer, startServer } from '../src/server.js'

/** Starts the app on a free port with test settings over `env`. */
export async function startTestApp(env: Record<string, string | undefined> = {}): Promise<RunningServer> {
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    // Tests pose as many clients through X-Forwarded-For, so per-IP limits do not collide.
    TRUST_PROXY: 'true',
    ASTRO_LATENCY_MS: '0',
    // A shared 2-core machine stalls the event loop now and then; shedding is tested explicitly.
    SHED_EVENT_LOOP_DELAY_MS: '5000',
    NOTIFICATION_DELAY_MS: '200',
    ANALYTICS_FLUSH_MS: '50',
    SEED: 'false',
    ADMIN_EMAILS: 'admin@corp-astro.test',
    ...env,
  })
  return startServer(config)
}

export interface Response<T = any> {
  status: number
  headers: Headers
  body: T
}

/** A tiny HTTP client bound to one base URL and one fake client IP. */
export function client(base: string, ip = randomIp()) {
  const request = async <T = any>(
    method: string,
    path: string,
    options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
  ): Promise<Response<T>> => {
    const headers: Record<string, string> = { 'x-forwarded-for': ip, ...options.headers }
    if (options.token) headers.authorization = `Bearer ${options.token}`
    if (options.body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(options.body !== undefined
        ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }
        : {}),
    })
    const text = await response.text()
    let body: any = text
    try {
      body = text ? JSON.parse(text) : undefined
    } catch {}
    return { status: response.status, headers: response.headers, body }
  }
  return {
    ip,
    request,
    get: <T = any>(path: string, token?: string) => request<T>('GET', path, token ? { token } : {}),
    post: <T = any>(path: string, body?: unknown, token?: string) =>
      request<T>('POST', path, { body: body ?? {}, ...(token ? { token } : {}) }),
    patch: <T = any>(path: string, body: unknown, token?: string) =>
      request<T>('PATCH', path, { body, ...(token ? { token } : {}) }),
    delete: <T = any>(path: string, token?: string) => request<T>('DELETE', path, token ? { token } : {}),
  }
}

export type Client = ReturnType<typeof client>

export function randomIp(): string {
  const bytes = randomBytes(3)
  return `10.${bytes[0]}.${bytes[1]}.${bytes[2]}`
}

export const uniqueEmail = (label = 'user') => `${label}-${randomBytes(5).toString('hex')}@example.test`

/** Registers a fresh user (from its own IP) and returns its tokens and a client. */
export async function newUser(base: string, label = 'user', email = uniqueEmail(label)) {
  const http = client(base)
  const res = await http.post('/api/auth/register', { email, password: 'correct horse battery', name: label })
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`)
  return {
    http,
    email,
    password: 'correct horse battery',
    id: res.body.user.id as string,
    token: res.body.accessToken as string,
    refreshToken: res.body.refreshToken as string,
  }
}

export const sampleProfile = {
  name: 'Nebula Bakery',
  industry: 'Food & Beverage',
  foundingDate: '2019-03-27',
  location: 'Lisbon',
}
