/**
 * The calibration: a bare Express "hello" in one process, with the app's listen backlog,
 * behind the same connections as the app. What this stack answers when it does nothing.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { freePort } from './environment.js'

const root = fileURLToPath(new URL('..', import.meta.url))

export interface Hello {
  port: number
  pid: number
  stop(): Promise<void>
}

export async function startHello(): Promise<Hello> {
  const port = await freePort()
  // The app's keep-alive timeout too: Node's 5 s default would close the idle users'
  // connections between their requests at low rates, and the comparison would pay handshakes.
  const code = `const app = require('express')(); app.get('/', (q, r) => r.json({ ok: true }));
    const server = app.listen({ port: ${port}, host: '127.0.0.1', backlog: 4096 }, () => console.log('ready'))
    server.keepAliveTimeout = 65000; server.headersTimeout = 66000`
  const child = spawn(process.execPath, ['-e', code], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve())
    child.once('exit', (exitCode) => reject(new Error(`the hello server exited (${exitCode})`)))
  })
  return {
    port,
    pid: child.pid!,
    async stop() {
      child.kill('SIGKILL')
      await exited
    },
  }
}
