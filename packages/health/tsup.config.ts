import { defineConfig } from 'tsup'
import { preset } from '../../tsup.preset.js'

export default defineConfig(
  preset({ index: 'src/index.ts', http: 'src/http.ts', prometheus: 'src/prom-client.ts' }),
)
