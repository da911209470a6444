export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` every 200 ms; resolves with the wait in ms, rejects after `ms`. */
export async function waitUntil(check: () => Promise<boolean>, ms: number, what: string): Promise<number> {
  const startedAt = Date.now()
  while (Date.now() - startedAt < ms) {
    if (await check().catch(() => false)) return Date.now() - startedAt
    await sleep(200)
  }
  throw new Error(`Timed out after ${ms} ms waiting for ${what}`)
}
