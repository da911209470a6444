import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.js'
import { answers } from './services.js'

export interface RedisServerOptions {
  /** Port to listen on; a free one when omitted. */
  port?: number
  /** Keep an append-only file, so a restart keeps acknowledged writes. @default false */
  appendOnly?: boolean
  /** Extra `redis-server` arguments, e.g. `['--cluster-enabled', 'yes']`. */
  args?: string[]
}

/** A `redis-server` process a test owns: it may stop, kill and restart it. */
export interface RedisServer {
  readonly port: number
  readonly host: string
  readonly url: string
  readonly dir: string
  /** True while the process runs. */
  readonly running: boolean
  /** Starts (or restarts, on the same port and data dir) and waits until it answers PING. */
  start(): Promise<void>
  /** Stops it gracefully (SIGTERM) and waits for the exit. */
  stop(): Promise<void>
  /** Kills it with SIGKILL and waits for the exit. */
  kill(): Promise<void>
  /** Stops it and deletes its data directory. */
  close(): Promise<void>
}

async function waitFor(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`Timed out after ${ms} ms waiting for ${what}`)
}

/**
 * Starts a throwaway `redis-server` on a spare port, with its own data directory.
 *
 * @example
 * const server = await startRedisServer()
 * await server.stop()   // Redis is down
 * await server.start()  // and back, on the same port
 * await server.close()
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort(10_000))
  const host = '127.0.0.1'
  const dir = mkdtempSync(join(tmpdir(), `headroom-redis-${port}-`))
  let child: ChildProcess | undefined

  const args = [
    '--port',
    String(port),
    '--bind',
    host,
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.appendOnly ? 'yes' : 'no',
    '--appendfsync',
    'always',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
    ...(options.args ?? []),
  ]

  const exited = (proc: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve()
      proc.once('exit', () => resolve())
    })

  const server: RedisServer = {
    port,
    host,
    url: `redis://${host}:${port}`,
    dir,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null
    },
    async start() {
      if (server.running) return
      const proc = spawn('redis-server', args, { stdio: 'ignore' })
      proc.once('error', () => {})
      child = proc
      await waitFor(() => answers(host, port, 500, 'PING\r\n'), `redis-server on port ${port}`)
    },
    async stop() {
      if (!child || !server.running) return
      const proc = child
      proc.kill('SIGTERM')
      await exited(proc)
    },
    async kill() {
      if (!child || !server.running) return
      const proc = child
      proc.kill('SIGKILL')
      await exited(proc)
    },
    async close() {
      await server.kill()
      rmSync(dir, { recursive: true, force: true })
    },
  }

  await server.start()
  return server
}
