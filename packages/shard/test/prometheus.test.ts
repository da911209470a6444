import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createBalancer, createShardRouter } from '../src/index.js'
import { registerShardMetrics } from '../src/prometheus/metrics.js'

async function family(registry: Registry, name: string) {
  const metric = (await registry.getMetricsAsJSON()).find((candidate) => candidate.name === name)
  if (!metric) throw new Error(`no metric ${name}`)
  return metric
}
const sampleValue = async (registry: Registry, name: string, labels: Record<string, string>) =>
  (await family(registry, name)).values.find((value) =>
    Object.entries(labels).every(([key, label]) => value.labels[key] === label),
  )?.value

describe('registerShardMetrics', () => {
  it('exports route counts as counters and the topology as gauges, read at scrape time', async () => {
    const registry = new Registry()
    const router = createShardRouter({
      shards: [
        { id: 'a', primary: 'db-a', replicas: ['db-a-replica'] },
        { id: 'b', primary: 'db-b' },
      ],
    })
    registerShardMetrics(registry, { routers: { users: router } })

    router.route('user-1', { write: true, session: 'user-1' })
    router.route('user-1', { session: 'user-1' })
    router.route('user-2')
    await router.run('user-3', () => 'done')

    expect((await family(registry, 'headroom_shard_routes_total')).type).toBe('counter')
    expect(
      await sampleValue(registry, 'headroom_shard_routes_total', { router: 'users', kind: 'write' }),
    ).toBe(1)
    expect(
      await sampleValue(registry, 'headroom_shard_routes_total', { router: 'users', kind: 'read' }),
    ).toBe(3)
    expect(await sampleValue(registry, 'headroom_shard_read_your_writes_total', { router: 'users' })).toBe(1)
    expect((await family(registry, 'headroom_shard_shards')).type).toBe('gauge')
    expect(await sampleValue(registry, 'headroom_shard_shards', { router: 'users' })).toBe(2)
    expect(await sampleValue(registry, 'headroom_shard_sessions', { router: 'users' })).toBe(1)
    expect(await sampleValue(registry, 'headroom_shard_ejected_targets', { router: 'users' })).toBe(0)

    // Values are read when scraped: an ejection shows on the next scrape, not before.
    router.eject('db-a-replica', 'breaker')
    expect(await sampleValue(registry, 'headroom_shard_ejected_targets', { router: 'users' })).toBe(1)
    router.route('user-1')
  })

  it('exports balancer picks, failures and health per target, and removes everything it added', async () => {
    const registry = new Registry()
    const balancer = createBalancer({ targets: ['r1', 'r2'] })
    const remove = registerShardMetrics(registry, { balancers: { replicas: balancer } })

    await balancer.run(() => 'ok')
    await balancer.run(() => 'ok')
    await balancer.run(() => Promise.reject(new Error('down'))).catch(() => {})
    balancer.eject('r2', 'health-check')

    expect(await sampleValue(registry, 'headroom_shard_balancer_picks_total', { balancer: 'replicas' })).toBe(
      3,
    )
    expect(
      await sampleValue(registry, 'headroom_shard_balancer_healthy_targets', { balancer: 'replicas' }),
    ).toBe(1)
    const failures = (await family(registry, 'headroom_shard_balancer_target_failures_total')).values
    expect(failures.reduce((sum, value) => sum + value.value, 0)).toBe(1)
    expect(
      await sampleValue(registry, 'headroom_shard_balancer_target_healthy', {
        balancer: 'replicas',
        target: 'r2',
      }),
    ).toBe(0)
    expect(
      await sampleValue(registry, 'headroom_shard_balancer_target_healthy', {
        balancer: 'replicas',
        target: 'r1',
      }),
    ).toBe(1)

    // The text format parses back (names, types and help lines are valid exposition).
    const text = await registry.metrics()
    expect(text).toContain('# TYPE headroom_shard_balancer_picks_total counter')
    expect(text).toContain('headroom_shard_balancer_target_inflight{balancer="replicas",target="r1"} 0')

    remove()
    expect((await registry.getMetricsAsJSON()).filter((m) => m.name.startsWith('headroom_shard'))).toEqual([])
  })
})
