export { channelName, createChannels, type HeadroomChannel } from './channels/diagnostics.js'
export { createTracingChannel, type HeadroomTracingChannel } from './channels/tracing.js'
export { Fifo } from './data/fifo.js'
export { fmix32, hashToBucket, murmur3 } from './data/hash.js'
export { createLatencyHistogram, type LatencyHistogram, type LatencySummary } from './data/histogram.js'
export {
  CircuitOpenError,
  ClosedError,
  type CoreErrorCode,
  defineError,
  errors,
  HeadroomError,
  type HeadroomErrorClass,
  isHeadroomError,
  isTimeoutError,
  OverloadedError,
  QueueClosedError,
  RateLimitedError,
  SerializationError,
  StoreUnavailableError,
  TimeoutError,
} from './errors.js'
export { createEmitter, type Emitter, type EventMap, type Subscribable } from './events.js'
export {
  createFailureGate,
  type FailureGate,
  type FailureGateOptions,
  type FailureGateState,
} from './failure-gate.js'
export {
  type FetchHandler,
  type FetchMiddleware,
  type FetchNext,
  type HonoLikeContext,
  toFetchMiddleware,
  withHeaders,
} from './fetch-middleware.js'
export { childLogger, type LogFn, type Logger, silentLogger } from './logger.js'
export { type CallOptionsCheck, type CallOptionType, createCallOptionsCheck } from './options/call-options.js'
export { closestKey } from './options/closest-key.js'
export { describeValue, type OptionsSchemaMatch, parseOptions, tiedTo } from './options/validate.js'
export { assertKeyPrefix, hashTaggedKey } from './redis/keys.js'
export {
  type AcquireLockOptions,
  createLock,
  type Lock,
  type LockLease,
  LockLostError,
  type LockOptions,
  LockTimeoutError,
} from './redis/lock.js'
export { reconnectBackoff, requestPathClusterOptions, requestPathRedisOptions } from './redis/options.js'
export { defineScript, isNoScriptError, type RedisScript, runScript } from './redis/script.js'
export { keySlot, slotOfTag } from './redis/slot.js'
export { isCluster, isRedisDown, type RedisClient } from './redis/types.js'
export {
  type Clock,
  clampDelay,
  MAX_TIMER_DELAY_MS,
  sleep,
  systemClock,
  type TimerHandle,
} from './time/clock.js'
export { createManualClock, type ManualClock } from './time/manual-clock.js'
export { afterPendingIo, type CommandTimeout, createCommandTimeout, withTimeout } from './time/timeout.js'
