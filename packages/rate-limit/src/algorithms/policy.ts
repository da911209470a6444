/** The algorithms a policy may use. */
export type Algorithm = 'gcra' | 'token-bucket' | 'sliding-window' | 'fixed-window' | 'sliding-log'

/** One limit: `limit` units per `windowMs`, with up to `burst` units at once (GCRA and token bucket). */
export interface ResolvedPolicy {
  readonly name: string
  readonly algorithm: Algorithm
  readonly limit: number
  readonly windowMs: number
  /** Bucket capacity for GCRA and token bucket; ignored by the window algorithms. */
  readonly burst: number
}
