import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Writable } from 'node:stream'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.js'
import { createLogger } from '../src/logger.js'
import { type RunningServer, startServer } from '../src/server.js'

const exec = promisify(execFile)

/** The sh block of the README's "The main flows with curl" section, as a reader pastes it. */
function walkthrough(): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('## The main flows with curl'))
  const match = /```sh\n([\s\S]*?)```/.exec(section)
  if (!match) throw new Error('no sh block under "The main flows with curl"')
  return match[1]!
}

describe('the README curl walkthrough pastes as-is', () => {
  let app: RunningServer
  let astroUrl: string

  beforeAll(async () => {
    const lines: string[] = []
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    })
    // `pnpm start` with no environment: development, PGlite, seeded demo users.
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      ASTRO_LATENCY_MS: '0',
      SHED_EVENT_LOOP_DELAY_MS: '5000',
    })
    app = await startServer(config, { logger: createLogger({ logLevel: 'info' }, sink) })
    // The README tells the reader to take the astro URL from the startup logs: so does the test.
    const line = lines.find((entry) => entry.includes('astro service (embedded) listening on'))
    astroUrl = JSON.parse(line!).url
    // PGlite, migrations and the seed take a while on a loaded 2-core machine.
  }, 180_000)
  afterAll(() => app?.close())

  it('runs every command with the variables it sets, and no answer is an error', async () => {
    // --norc: bash sources ~/.bashrc when its stdin is a socket (as under vitest's fork pool).
    const { stdout, stderr } = await exec('bash', ['--norc', '--noprofile', '-c', walkthrough()], {
      env: { PATH: process.env.PATH, B: app.url, ASTRO: astroUrl },
      timeout: 150_000,
    })
    expect(stderr).toBe('')
    // problem+json answers carry a numeric status; none may be an error.
    expect(stdout).not.toMatch(/"status":\s*[45]\d\d/)
    expect(stdout).not.toMatch(/\/null\b/)
    expect(stdout).toContain('"tokenType"') // register answered 201 with its tokens
    expect(stdout).toContain('"source"') // a daily horoscope was generated
    expect(stdout).toMatch(/"status":"(queued|running|completed)"/) // the report job
    expect(stdout).toMatch(/(^|[}\]])204$/m) // the profile was deleted (curl -w, after the last JSON answer)
    expect(stdout).toContain('"failureRate":1')
  }, 180_000)
})
