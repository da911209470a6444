import { describeHealthContract } from './http-contract.js'
import { serverFactories } from './http-servers.js'

for (const server of serverFactories) describeHealthContract(server)
