import { describeRedis } from '@headroom/testing'
import { killTest } from './kill.js'

describeRedis('kill test', killTest, { standalone: false })
