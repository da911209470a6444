import { hashPassword } from '../auth/passwords.js'
import type { Config } from '../config.js'
import type { AppLogger } from '../logger.js'
import type { ProfileRepository } from '../profiles/repository.js'
import type { UserRepository } from '../users/repository.js'

/** The demo accounts: one per tier, plus an admin. Password for all: `corp-astro-demo`. */
export const DEMO_PASSWORD = 'corp-astro-demo'
export const DEMO_USERS = [
  { email: 'free@corp-astro.dev', name: 'Fay Free', tier: 'free' },
  { email: 'basic@corp-astro.dev', name: 'Ben Basic', tier: 'basic' },
  { email: 'premium@corp-astro.dev', name: 'Pia Premium', tier: 'premium' },
  { email: 'admin@corp-astro.dev', name: 'Ada Admin', tier: 'premium' },
] as const

const PROFILES = [
  { name: 'Nebula Bakery', industry: 'Food & Beverage', foundingDate: '2019-03-27', location: 'Lisbon' },
  { name: 'Orbit Logistics', industry: 'Logistics', foundingDate: '2012-08-09', location: 'Rotterdam' },
  { name: 'Comet Analytics', industry: 'Software', foundingDate: '2021-11-30', location: 'Berlin' },
]

/** Creates the demo users and their profiles once (existing emails are left alone). */
export async function seed(
  users: UserRepository,
  profiles: ProfileRepository,
  config: Config,
  logger: AppLogger,
): Promise<void> {
  const passwordHash = await hashPassword(DEMO_PASSWORD)
  let created = 0
  for (const [index, demo] of DEMO_USERS.entries()) {
    const user = await users.create({
      ...demo,
      passwordHash,
      role: config.auth.adminEmails.has(demo.email) ? 'admin' : 'user',
    })
    if (!user) continue
    created++
    await profiles.create(user.id, PROFILES[index % PROFILES.length]!)
  }
  if (created === 0) return
  // The logger redacts every `password` field; this one is a published demo credential,
  // so in development it goes in the message, readable.
  const emails = DEMO_USERS.map((demo) => demo.email).join(', ')
  logger.info(
    { users: created },
    config.env === 'development'
      ? `demo data seeded: ${emails}, password ${DEMO_PASSWORD}`
      : 'demo data seeded (password in src/db/seed.ts)',
  )
}
