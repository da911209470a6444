import { killAll } from './processes.js'

/** What the suite started (apps, servers, databases), undone in reverse on every exit path. */
export const cleanups: (() => Promise<unknown> | unknown)[] = []

export async function cleanUp(): Promise<void> {
  killAll()
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup()
    } catch {}
  }
}
