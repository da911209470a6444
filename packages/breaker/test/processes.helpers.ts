import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { waitUntil } from '@headroom/testing'

const here = dirname(fileURLToPath(import.meta.url))
const packageRoot = join(here, '..')

/** What a worker reported, in order. */
export interface WorkerMessage {
  event: string
  [field: string]: unknown
}

/** A fleet member in its own process (test/fixtures/shared-worker.ts). */
export interface Worker {
  readonly process: ChildProcess
  readonly messages: WorkerMessage[]
  send(command: object): void
  /** Sends a command and waits for the reply named `${cmd}-done` (or `reply`). */
  request(command: { cmd: string; [field: string]: unknown }, reply?: string): Promise<WorkerMessage>
  states(): { state: string; remote: boolean; at: number }[]
  kill(): void
}

export function spawnWorker(env: Record<string, string>): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'shared-worker.ts')], {
    cwd: packageRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const messages: WorkerMessage[] = []
  child.on('message', (message: WorkerMessage) => messages.push(message))
  const worker: Worker = {
    process: child,
    messages,
    send: (command) => child.send(command),
    async request(command, reply = `${command.cmd}-done`) {
      const from = messages.length
      child.send(command)
      await waitUntil(() => messages.slice(from).some((m) => m.event === reply), {
        timeoutMs: 20_000,
        what: `worker reply ${reply}`,
      })
      return messages.slice(from).find((m) => m.event === reply)!
    },
    states: () =>
      messages
        .filter((m) => m.event === 'state')
        .map((m) => ({ state: m.state as string, remote: m.remote as boolean, at: m.at as number })),
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
  }
  return worker
}

export async function spawnFleet(count: number, env: Record<string, string>): Promise<Worker[]> {
  const workers = Array.from({ length: count }, () => spawnWorker(env))
  try {
    await waitUntil(() => workers.every((w) => w.messages.some((m) => m.event === 'ready')), {
      timeoutMs: 45_000,
      intervalMs: 50,
      what: 'workers ready',
    })
  } catch (error) {
    for (const worker of workers) worker.kill()
    throw error
  }
  return workers
}

export async function stopFleet(workers: Worker[]): Promise<void> {
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          const child = worker.process
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          const timer = setTimeout(() => worker.kill(), 5_000)
          child.once('exit', () => {
            clearTimeout(timer)
            resolve()
          })
          try {
            child.send({ cmd: 'exit' })
          } catch {
            worker.kill()
          }
        }),
    ),
  )
}
