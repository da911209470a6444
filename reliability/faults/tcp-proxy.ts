import { connect, createServer, type Server, type Socket } from 'node:net'

/** A TCP proxy a test controls: `close()` makes its port refuse connections, `open()` restores it. */
export interface TcpProxy {
  readonly port: number
  open(): Promise<void>
  /** Stops listening and cuts every live connection: the target looks dead. */
  close(): Promise<void>
}

/** Proxies 127.0.0.1:<port> to `target`. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0
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
        client.pipe(upstream)
        upstream.pipe(client)
      })
      next.once('error', reject)
      next.listen(port, '127.0.0.1', () => {
        server = next
        const address = next.address()
        if (address && typeof address === 'object') port = address.port
        resolve()
      })
    })
  await listen()
  return {
    get port() {
      return port
    },
    async open() {
      if (!server) await listen()
    },
    async close() {
      const current = server
      server = undefined
      for (const socket of sockets) socket.destroy()
      sockets.clear()
      if (current) await new Promise<void>((resolve) => current.close(() => resolve()))
    },
  }
}
