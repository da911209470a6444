import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * How the proxy treats traffic:
 * - `pass`: forwards both ways.
 * - `hang`: keeps every connection open and accepts new ones, but forwards nothing either way
 *   (a network path that black-holes packets: the peer sees no error, only silence).
 * - `slow`: forwards each chunk after `delayMs` (a slow network path or an overloaded server).
 */
export type TcpProxyMode = { kind: 'pass' } | { kind: 'hang' } | { kind: 'slow'; delayMs: number }

/** A TCP proxy a test controls. */
export interface TcpProxy {
  readonly port: number
  /** Listens again (after `close()`) and forwards normally. */
  open(): Promise<void>
  /** Stops listening and cuts every live connection: the target looks dead (refused). */
  close(): Promise<void>
  /** Live connections stay open and new ones are accepted, but nothing is forwarded. */
  hang(): void
  /** Every chunk, both ways, is forwarded `delayMs` late. */
  slow(delayMs: number): void
  /** Forwards normally again (after `hang()` or `slow()`); what a hang held back is dropped. */
  pass(): void
  /** Cuts every live connection but keeps listening (a partition that heals at once). */
  reset(): void
}

/** Proxies 127.0.0.1:<port> (a free one unless given) to `target`. */
export async function startTcpProxy(
  target: { host: string; port: number },
  options: { port?: number } = {},
): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  let server: Server | undefined
  let port = options.port ?? 0
  let mode: TcpProxyMode = { kind: 'pass' }

  const forward = (from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      const current = mode
      if (current.kind === 'hang') return
      if (current.kind === 'pass') {
        to.write(chunk)
        return
      }
      const timer = setTimeout(() => {
        timers.delete(timer)
        if (!to.destroyed) to.write(chunk)
      }, current.delayMs)
      timers.add(timer)
    })
  }

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer((client) => {
        const upstream = connect(target.port, target.host)
        sockets.add(client)
        sockets.add(upstream)
        const drop = () => {
          client.destroy()
          upstream.destroy()
          sockets.delete(client)
          sockets.delete(upstream)
        }
        client.on('error', drop).on('close', drop)
        upstream.on('error', drop).on('close', drop)
        forward(client, upstream)
        forward(upstream, client)
      })
      next.once('error', reject)
      next.listen(port, '127.0.0.1', () => {
        server = next
        const address = next.address()
        if (address && typeof address === 'object') port = address.port
        resolve()
      })
    })

  const cut = () => {
    for (const timer of timers) clearTimeout(timer)
    timers.clear()
    for (const socket of sockets) socket.destroy()
    sockets.clear()
  }

  await listen()
  return {
    get port() {
      return port
    },
    async open() {
      mode = { kind: 'pass' }
      if (!server) await listen()
    },
    async close() {
      const current = server
      server = undefined
      cut()
      if (current) await new Promise<void>((resolve) => current.close(() => resolve()))
    },
    hang() {
      mode = { kind: 'hang' }
    },
    slow(delayMs) {
      mode = { kind: 'slow', delayMs }
    },
    pass() {
      mode = { kind: 'pass' }
    },
    reset() {
      cut()
    },
  }
}
