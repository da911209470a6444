import { execFile, spawn } from 'node:child_process'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { waitUntil } from '@headroom/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.js'
import { DEMO_PASSWORD } from '../src/db/seed.js'
import { openApiPath } from '../src/http/openapi.js'
import { createLogger } from '../src/logger.js'
import { type RunningServer, startServer } from '../src/server.js'

const exec = promisify(execFile)

/** Every `[METHOD, path]` the Express app routes, walking mounted routers. */
function mountedRoutes(app: any): [string, string][] {
  const routes: [string, string][] = []
  const walk = (stack: any[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods))
          routes.push([method, `${prefix}${layer.route.path}`])
      } else if (layer.handle?.stack) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : ''
        walk(layer.handle.stack, `${prefix}${mount}`)
      }
    }
  }
  walk(app.router.stack, '')
  return routes.map(([method, path]) => [method, path.length > 1 ? path.replace(/\/$/, '') : path])
}

describe('the newcomer path: GET /, GET /openapi.json, the start banner, the startup logs', () => {
  let app: RunningServer
  const lines: string[] = []

  beforeAll(async () => {
    const config = loadConfig({
      NODE_ENV: 'development',
      PORT: '0',
      HOST: '127.0.0.1',
      ASTRO_LATENCY_MS: '0',
      SHED_EVENT_LOOP_DELAY_MS: '5000',
      SEED: 'true',
    })
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    })
    app = await startServer(config, { logger: createLogger({ logLevel: 'info' }, sink) })
    // PGlite, migrations and the seed take a while on a loaded 2-core machine.
  }, 180_000)
  afterAll(() => app?.close())

  it('logs the demo password readably once in development, and the embedded astro service URL', () => {
    const seeded = lines.filter((line) => line.includes('demo data seeded'))
    expect(seeded).toHaveLength(1)
    expect(seeded[0]).toContain(`password ${DEMO_PASSWORD}`)
    expect(seeded[0]).not.toContain('[Redacted]')
    const astro = lines.find((line) => line.includes('astro service (embedded) listening on'))
    expect(astro).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/)
  })

  it('GET / answers an index of the API with commands that work as pasted', async () => {
    const res = await fetch(`${app.url}/`)
    expect(res.status).toBe(200)
    const index = (await res.json()) as { openapi: string; routes: string[]; try: string[] }
    expect(index.openapi).toBe('/openapi.json')
    expect(index.routes).toContain('POST /api/auth/login: Log in: access and refresh tokens')
    expect(index.try).toHaveLength(3)
    for (const command of index.try) {
      expect(command).toMatch(/^curl -s /)
      expect(command).toContain(`${app.url}/`)
      const { stdout } = await exec('sh', ['-c', command])
      const body = JSON.parse(stdout)
      // A problem+json answer carries a numeric status; /health's status is "pass".
      expect(typeof body.status === 'number' ? body.status : 200, command).toBeLessThan(400)
    }
    const { stdout } = await exec('sh', ['-c', index.try[2]!])
    expect(JSON.parse(stdout).accessToken).toEqual(expect.any(String))
  }, 60_000)

  it('GET /openapi.json is an OpenAPI 3.1 document naming every route the app mounts', async () => {
    const res = await fetch(`${app.url}/openapi.json`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    const document = JSON.parse(await res.text()) as {
      openapi: string
      paths: Record<string, Record<string, any>>
    }
    expect(document.openapi).toBe('3.1.0')
    const mounted = mountedRoutes(app.server.listeners('request')[0])
    expect(mounted.length).toBeGreaterThan(20)
    const missing = mounted.filter(([method, path]) => !document.paths[openApiPath(path)]?.[method])
    expect(missing).toEqual([])
    // The probes are served by a middleware, not Express routes: documented too.
    for (const probe of ['/livez', '/readyz', '/health']) expect(document.paths[probe]?.get).toBeDefined()
    // Generated from the zod schemas the handlers validate with.
    const register = document.paths['/api/auth/register']!.post.requestBody.content['application/json'].schema
    expect(register.required).toEqual(expect.arrayContaining(['email', 'password', 'name']))
    expect(register.properties.password).toMatchObject({ minLength: 8, maxLength: 128 })
    const list = document.paths['/api/business-profiles']!.get.parameters
    expect(list).toContainEqual(
      expect.objectContaining({
        name: 'limit',
        in: 'query',
        schema: expect.objectContaining({ maximum: 100 }),
      }),
    )
  })
})

describe('pnpm start (node --import tsx src/main.ts) in development', () => {
  it('prints the URL and three commands that work as pasted, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PORT: '0',
        HOST: '127.0.0.1',
        ASTRO_LATENCY_MS: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout!.on('data', (chunk) => {
      output += chunk
    })
    child.stderr!.on('data', (chunk) => {
      output += chunk
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      // Other log lines may follow the banner (health status changes on a loaded machine).
      await waitUntil(() => output.split('\n').filter((line) => line.startsWith('    curl ')).length === 3, {
        timeoutMs: 170_000,
      }).catch((error: Error) => {
        throw new Error(`${error.message}; output:\n${output}`)
      })
      const url = /corp-astro is up: (http:\/\/\S+)/.exec(output)![1]!
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const commands = output
        .split('\n')
        .filter((line) => line.startsWith('    curl '))
        .map((line) => line.trim())
      expect(commands).toHaveLength(3)
      for (const command of commands) {
        const { stdout } = await exec('sh', ['-c', command])
        const body = JSON.parse(stdout)
        expect(typeof body.status === 'number' ? body.status : 200, command).toBeLessThan(400)
      }
      expect(output).toContain('password corp-astro-demo')
      expect(output).toContain('astro service (embedded) listening on http://')
      child.kill('SIGTERM')
      expect(await exited).toBe(0)
    } finally {
      child.kill('SIGKILL')
    }
  }, 180_000)
})
