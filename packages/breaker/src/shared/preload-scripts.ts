import { isCluster, type RedisClient } from '@headroom/core'
import { acquireProbeScript, closeScript, openScript } from './scripts.js'

/**
 * Loads the scripts ahead of the first state change, so the first open (the one that
 * matters) is one EVALSHA, not a NOSCRIPT answer and an EVAL. A client still
 * connecting is loaded once ready; the returned function stops waiting (on close).
 */
export function preloadScripts(redis: RedisClient): () => void {
  let cancelled = false
  const load = (): void => {
    if (cancelled) return
    if ((redis as { status?: string }).status !== 'ready') {
      redis.once('ready', load)
      return
    }
    const targets = isCluster(redis) ? redis.nodes('master') : [redis]
    for (const node of targets)
      for (const script of [openScript, closeScript, acquireProbeScript])
        node.script('LOAD', script.lua).catch(() => {})
  }
  load()
  return () => {
    cancelled = true
    redis.off('ready', load)
  }
}
