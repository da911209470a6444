// A node:http user of the probes and load shedding.
import http from 'node:http'
import { createHealthMonitor } from '@headroom/health'
import { healthRoutes, shedLoad, trackRequests } from '@headroom/health/http'

export function serve(): http.Server {
  const monitor = createHealthMonitor({ service: 'consumer' })
  const probes = healthRoutes(monitor, { version: '1.0.0' })
  const track = trackRequests({ monitor })
  const shed = shedLoad({ monitor, priority: (req) => (req.url?.startsWith('/auth') ? 'critical' : 'low') })
  return http.createServer((req, res) =>
    probes(req, res, () => track(req, res, () => shed(req, res, () => res.end('ok')))),
  )
}
