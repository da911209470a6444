import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const APP_DIR = fileURLToPath(new URL('../../examples/corp-astro/', import.meta.url))
const children = new Set<ChildProcess>()

/** A child process with its recent output (bounded: a long run logs a lot). */
export interface Child {
  readonly process: ChildProcess
  output(): string
  /** Resolves when some output contains `text`, or rejects after `timeoutMs`. */
  waitFor(text: string, timeoutMs: number): Promise<void>
  readonly exited: Promise<number | null>
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>
}

const KEEP = 400_000

/**
 * Runs `node --import tsx <script> ...args` in examples/corp-astro with `env` (plus
 * PATH/HOME only, so nothing from the caller's shell leaks into the app's configuration).
 */
export function runApp(script: string, env: Record<string, string>, args: string[] = []): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: APP_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(proc)
  let output = ''
  let seen = ''
  const waiters: { text: string; resolve: () => void }[] = []
  const onData = (chunk: Buffer) => {
    const text = chunk.toString()
    output = (output + text).slice(-KEEP)
    seen = (seen + text).slice(-20_000)
    for (const waiter of [...waiters]) {
      if (output.includes(waiter.text)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve()
      }
    }
  }
  proc.stdout?.on('data', onData)
  proc.stderr?.on('data', onData)
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  void exited.then(() => children.delete(proc))
  return {
    process: proc,
    output: () => output,
    exited,
    waitFor(text, timeoutMs) {
      if (output.includes(text)) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(
              `Timed out after ${timeoutMs} ms waiting for "${text}"; last output:\n${seen.slice(-3000)}`,
            ),
          )
        }, timeoutMs)
        waiters.push({
          text,
          resolve: () => {
            clearTimeout(timer)
            resolve()
          },
        })
        void exited.then((code) => {
          clearTimeout(timer)
          reject(new Error(`${script} exited (${code}) before "${text}"; last output:\n${seen.slice(-3000)}`))
        })
      })
    },
    async stop(signal = 'SIGTERM', graceMs = 20_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      proc.kill(signal)
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Kills every child still running (on any exit path, so no app outlives the suite). */
export function killAll(): void {
  for (const child of children) child.kill('SIGKILL')
}
