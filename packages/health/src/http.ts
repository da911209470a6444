export { type HealthJson, type HealthJsonCheck, type HealthJsonInfo, healthJson } from './http/health-json.js'
export { type HealthRoutesOptions, health, healthRoutes, livez, readyz } from './http/probes.js'
export type { RequestTiming, RequestTimingOptions, SlowRequestReport } from './http/request-timing.js'
export { type ShedLoadHandler, type ShedLoadOptions, shedLoad } from './http/shed-load.js'
export {
  markDependencyFailure,
  requestTiming,
  type TrackRequestsOptions,
  trackRequests,
} from './http/track-requests.js'
export type { Handler, Next } from './http/types.js'
export {
  type GracefulShutdown,
  type GracefulShutdownOptions,
  gracefulShutdown,
} from './shutdown/graceful-shutdown.js'
