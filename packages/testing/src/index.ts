export { clusterWorkerPids } from './cluster-workers.js'
export { type PartitionedRedis, startPartitionedRedis } from './partitioned-redis.js'
export { freePort } from './ports.js'
export { createTestDatabase, postgresAvailable, type TestDatabase } from './postgres.js'
export { type RedisCluster, type RedisClusterOptions, startRedisCluster } from './redis-cluster.js'
export { type RedisServer, type RedisServerOptions, startRedisServer } from './redis-server.js'
export {
  clusterAvailable,
  describeRedis,
  type RedisTarget,
  redisAvailable,
  uniquePrefix,
} from './redis-targets.js'
export {
  answers,
  clusterNodes,
  hasRedisServer,
  postgresAnswers,
  postgresUrl,
  redisAnswers,
  redisServerAvailable,
  redisUrl,
  serviceMissing,
} from './services.js'
export { startTcpProxy, type TcpProxy, type TcpProxyMode } from './tcp-proxy.js'
export { waitUntil } from './wait.js'
