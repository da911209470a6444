export {
  type GracefulShutdown,
  type GracefulShutdownOptions,
  gracefulShutdown,
} from './graceful-shutdown.js'
export { type HealthJson, type HealthJsonCheck, type HealthJsonInfo, healthJson } from './health-json.js'
export type { Handler, Next } from './http-types.js'
export { type HealthRoutesOptions, health, healthRoutes, livez, readyz } from './probes.js'
export type { RequestTiming, RequestTimingOptions, SlowRequestReport } from './request-timing.js'
export { type ShedLoadHandler, type ShedLoadOptions, shedLoad } from './shed-load.js'
export {
  markDependencyFailure,
  requestTiming,
  type TrackRequestsOptions,
  trackRequests,
} from './track-requests.js'
