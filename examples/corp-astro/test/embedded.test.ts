import { describeApi } from './api-contract.js'
import { startTestApp } from './helpers.js'

// No DATABASE_URL, no REDIS_URL, no ASTRO_URL: PGlite in-process, memory stores, astro in-process.
describeApi('corp-astro on embedded defaults', () =>
  startTestApp({ DATABASE_URL: undefined, REDIS_URL: undefined, ASTRO_URL: undefined }),
)
