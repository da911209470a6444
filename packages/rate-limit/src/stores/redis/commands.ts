import { type RedisClient, StoreUnavailableError } from '@headroom/core'

/** A script call's reply: five values per decision. */
export type Reply = (string | number)[]
/** A script command (EVALSHA or EVAL) taking its whole argv. */
export type Send = (...argv: (string | number)[]) => Promise<Reply>

/** The ways the store sends a script call: at once (a lone call) or through the client's methods (several of one flush). */
export interface ScriptSenders {
  evalshaNow: Send
  evalNow: Send
  evalshaPiped: Send
  evalPiped: Send
}

/**
 * ioredis' builtin-command functions bypass its auto-pipelining, which would hold every
 * call until the next setImmediate and wrap it in a pipeline: the store batches by itself,
 * so a lone call leaves at once. Several calls of one flush still go through the client's
 * methods, so ioredis writes them together.
 */
export function scriptSenders(redis: RedisClient): ScriptSenders {
  const builtin = (redis as { createBuiltinCommand?: (name: string) => { string: Send } })
    .createBuiltinCommand
  // ioredis types EVALSHA and EVAL as overloads; the store always passes a flat argv.
  const piped = (name: 'evalsha' | 'eval'): Send => {
    const method: (...argv: never[]) => unknown = redis[name]
    return method as Send
  }
  const now = (name: 'evalsha' | 'eval') =>
    typeof builtin === 'function' ? builtin.call(redis, name).string : piped(name)
  return {
    evalshaNow: now('evalsha'),
    evalNow: now('eval'),
    evalshaPiped: piped('evalsha'),
    evalPiped: piped('eval'),
  }
}

/** The error a failed script call rejects its decisions with: a `StoreUnavailableError`, the cause kept. */
export function asStoreUnavailable(error: unknown): InstanceType<typeof StoreUnavailableError> {
  return error instanceof StoreUnavailableError
    ? error
    : new StoreUnavailableError(`Redis did not decide: ${(error as Error)?.message ?? String(error)}`, {
        cause: error,
      })
}
