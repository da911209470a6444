/** A stand-in dependency the tests steer: fail or succeed, at once or after `delayMs` (fake timers). */
export interface Dependency {
  fail: boolean
  delayMs: number
  calls: number
  fn: (value?: number) => Promise<number>
}

export function dependency(): Dependency {
  const dep: Dependency = {
    fail: false,
    delayMs: 0,
    calls: 0,
    fn: async (value = 1) => {
      dep.calls++
      const fail = dep.fail
      if (dep.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, dep.delayMs))
      if (fail) throw new Error('dependency failed')
      return value
    },
  }
  return dep
}

/** Settles a promise into a value or its error, so a test can fire many calls and look later. */
export function settle<T>(
  promise: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  )
}
