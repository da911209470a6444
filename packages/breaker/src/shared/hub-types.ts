import type { HubMessage } from './messages.js'
import type { ProbeGrant } from './probe-grant.js'

/** Listens to one breaker's fleet messages. */
export type HubListener = (message: HubMessage) => void

/**
 * Brings one breaker in line with the fleet after a gap (start-up, a Redis outage, a
 * resubscription): publish a local open the fleet missed, or adopt the fleet's open.
 * Rejects when Redis could not be reached, and the hub tries again later.
 */
export type HubSync = () => Promise<void>

/**
 * Carries the state of shared breakers through Redis: one subscriber connection and
 * one channel for every breaker registered on it (a registry of a thousand host
 * breakers uses one connection), scripts with one round trip per state change, a
 * command timeout and a failure gate so a dead Redis is not waited on.
 */
export interface BreakerHub {
  /** This instance's id in the fleet (the lease holder's value, a message's origin). */
  readonly id: string
  readonly prefix: string
  /** `redis` while Redis answers, `local` while the failure gate has it marked down. */
  readonly mode: 'redis' | 'local'
  /** Resolves once the hub listens on its channel (it subscribes when the first breaker registers). */
  ready(): Promise<void>
  /**
   * Listens to one name's fleet messages and syncs it now and after every gap; the
   * function unregisters.
   */
  register(name: string, listener: HubListener, sync: HubSync): () => void
  /** Runs `name`'s sync again soon (after a write the fleet may have missed). */
  requestSync(name: string): void
  /**
   * Opens the fleet; resolves with the open time left (the fleet's, when it was
   * already open). `force` overrides an open fleet's time; `sync` publishes only when
   * the fleet has not heard of an outage (0: it has, and probes).
   */
  markOpen(name: string, ms: number, mode?: 'decision' | 'force' | 'sync'): Promise<number>
  markClosed(name: string): Promise<void>
  acquireProbe(name: string, leaseMs: number): Promise<ProbeGrant>
  /** The fleet's open time left, in ms (0 when closed). */
  readOpen(name: string): Promise<number>
  stats(): { mode: 'redis' | 'local'; storeErrors: number; messagesIn: number; breakers: number }
  close(): Promise<void>
}
