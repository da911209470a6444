import { DEMO_PASSWORD, DEMO_USERS } from '../db/seed.js'

/**
 * Three curl commands that work as pasted against `baseUrl`: the index, the health
 * report, and a login as the premium demo user (or, without demo data, a registration).
 */
export function tryItCommands(baseUrl: string, seeded: boolean): string[] {
  const premium = DEMO_USERS.find((user) => user.tier === 'premium')!
  const auth = seeded
    ? `curl -s -X POST ${baseUrl}/api/auth/login -H 'content-type: application/json' -d '{"email":"${premium.email}","password":"${DEMO_PASSWORD}"}'`
    : `curl -s -X POST ${baseUrl}/api/auth/register -H 'content-type: application/json' -d '{"email":"you@example.com","password":"correct horse battery","name":"You"}'`
  return [`curl -s ${baseUrl}/`, `curl -s ${baseUrl}/health`, auth]
}

/** The URL a local client uses for a server listening on `host` (0.0.0.0 is not an address to call). */
export function localUrl(host: string, port: number): string {
  const local = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host
  return `http://${local.includes(':') ? `[${local}]` : local}:${port}`
}

/**
 * The newcomer's banner: where the app listens and what to try, as plain lines (a JSON
 * log line would escape the quotes and the commands would not paste).
 */
export function tryItBanner(baseUrl: string, seeded: boolean): string {
  return [
    '',
    `  corp-astro is up: ${baseUrl}  (API index at /, OpenAPI at /openapi.json)`,
    '  Try:',
    ...tryItCommands(baseUrl, seeded).map((command) => `    ${command}`),
    '',
    '',
  ].join('\n')
}
