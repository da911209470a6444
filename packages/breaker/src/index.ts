export { createBreaker } from './breaker.js'
export {
  CircuitOpenError,
  ClosedError,
  isCircuitOpenError,
  OverloadedError,
  TimeoutError,
} from './errors.js'
export type { BreakerOptions, SharedOptions } from './options.js'
export {
  type BreakerRegistry,
  type BreakerRegistryOptions,
  createBreakerRegistry,
  type RegistryStateChange,
  type TargetHealth,
} from './registry.js'
export { createBreakerHub } from './shared/hub.js'
export type { BreakerHubOptions } from './shared/hub-options.js'
export type { BreakerHub, HubListener, HubSync } from './shared/hub-types.js'
export type { HubMessage } from './shared/messages.js'
export type { ProbeGrant } from './shared/probe-grant.js'
export type { OpenReason } from './thresholds.js'
export type {
  Breaker,
  BreakerEvents,
  BreakerHealth,
  BreakerState,
  BreakerStats,
  StateChange,
  TransitionReason,
} from './types.js'
