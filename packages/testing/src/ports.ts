import { createServer } from 'node:net'

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * A TCP port free on 127.0.0.1, from a random spot in 20000..39999. With `busOffset`
 * the port + offset must be free too (Redis Cluster's bus port is port + 10000).
 */
export async function freePort(busOffset?: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000)
    if (!(await isFree(port))) continue
    if (busOffset !== undefined && !(await isFree(port + busOffset))) continue
    return port
  }
  throw new Error('No free TCP port found on 127.0.0.1 after 200 tries')
}
