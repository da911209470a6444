export { createBreaker } from './breaker/breaker.js'
export {
  CircuitOpenError,
  ClosedError,
  isCircuitOpenError,
  OverloadedError,
  TimeoutError,
} from './breaker/errors.js'
export type { BreakerOptions, SharedOptions } from './breaker/options.js'
export type { OpenReason } from './breaker/thresholds.js'
export type {
  Breaker,
  BreakerEvents,
  BreakerHealth,
  BreakerState,
  BreakerStats,
  StateChange,
  TransitionReason,
} from './breaker/types.js'
export {
  type BreakerRegistry,
  type BreakerRegistryOptions,
  createBreakerRegistry,
  type RegistryStateChange,
  type TargetHealth,
} from './registry/registry.js'
export { createBreakerHub } from './shared/hub.js'
export type { BreakerHubOptions } from './shared/hub-options.js'
export type { BreakerHub, HubListener, HubSync } from './shared/hub-types.js'
export type { HubMessage } from './shared/messages.js'
export type { ProbeGrant } from './shared/probe-grant.js'
