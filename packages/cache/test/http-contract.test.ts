import { describeCacheResponseContract } from './http-contract.js'
import { serverFactories } from './http-servers.js'

for (const server of serverFactories) describeCacheResponseContract(server)
