// A user of @headroom/shard with plain values as shard targets.
import { createShardRouter, type ShardRouter } from '@headroom/shard'

async function main(): Promise<void> {
  const router: ShardRouter<string, string> = createShardRouter({
    shards: [
      { id: 'a', primary: 'postgres://a' },
      { id: 'b', primary: 'postgres://b', replicas: ['postgres://b-replica'] },
    ],
  })
  const first = router.shardFor('user:42').id
  if (router.shardFor('user:42').id !== first) throw new Error('the router is not deterministic')
  const { target } = router.route('user:42', { write: true })
  if (typeof target !== 'string') throw new Error('route returned no target')
}

main().then(
  () => console.log('ok shard (memory)'),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  },
)
