// The sizer feeds its algorithm one sample per interval (a mean over many queries), not
// one per request as the limiter does, so some algorithms want other tuning.
import { log10Root } from '../algorithms/vegas.js'

/** Algorithm tuning for one sample per interval rather than one per request. */
export const WINDOWED_DEFAULTS = {
  // Each sample is already a mean over an interval: one update per sample.
  minrtt: { roundSamples: 1 },
  gradient2: {},
  // One Vegas sample per interval is a mean over many queries, but on a busy host it is
  // still noisy: half-weight steps keep one lucky interval from adding `beta` connections,
  // and shrinking by a fifth (rather than log10) lets an oversized pool come down in
  // seconds rather than one connection per interval.
  vegas: { smoothing: 0.5, decrease: (limit: number) => limit - Math.max(log10Root(limit), limit * 0.2) },
  aimd: {},
}
