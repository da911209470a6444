import { defineConfig } from 'tsup'
import { preset } from '../../tsup.preset.js'

export default defineConfig(
  preset({
    index: 'src/index.ts',
    http: 'src/http.ts',
    fastify: 'src/fastify.ts',
    fetch: 'src/fetch.ts',
    prometheus: 'src/prom-client.ts',
  }),
)
