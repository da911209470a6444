// Checks that a component a fault hit works again, end to end through the app.
import { request } from './load.js'
import type { Stack } from './stack.js'
import { sleep } from './wait.js'

/** A report submitted now completes: the queue (and the store behind it) works. */
export async function reportCompletes(stack: Stack, timeoutMs = 3_000): Promise<boolean> {
  const user = stack.users.find((u) => u.profiles.length > 0)
  if (!user) return false
  const res = await request(stack.base, 'POST', '/api/reports/monthly', {
    token: user.token,
    ip: user.ip,
    body: { profileId: user.profiles[0], month: '2026-09' },
  })
  if (res.status !== 202) return false
  user.reports.push(res.body.id)
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const status = await request(stack.base, 'GET', `/api/reports/${res.body.id}`, {
      token: user.token,
      ip: user.ip,
    })
    if (status.body?.status === 'completed') return true
    await sleep(100)
  }
  return false
}

/** A newly created profile's daily content carries the astro forecast again. */
export async function astroAnswers(stack: Stack): Promise<boolean> {
  const user = stack.users[0]!
  const created = await request(stack.base, 'POST', '/api/business-profiles', {
    token: user.token,
    ip: user.ip,
    body: { name: 'Probe', industry: 'Retail', foundingDate: '2011-01-11', location: 'Rome' },
  })
  if (created.status !== 201) return false
  user.profiles.push(created.body.id)
  const daily = await request(stack.base, 'GET', `/api/content/daily?profileId=${created.body.id}`, {
    token: user.token,
    ip: user.ip,
  })
  return daily.status === 200 && daily.body?.source === 'astro'
}

/** Every user can write again (a user-row update), whichever shard holds them. */
export async function everyUserWrites(stack: Stack): Promise<boolean> {
  for (const user of stack.users) {
    const res = await request(stack.base, 'PATCH', '/api/users/me', {
      token: user.token,
      ip: user.ip,
      body: { name: 'probe' },
    })
    if (res.status !== 200) return false
  }
  return true
}

/** A profile edit made on the last instance is what every instance serves right after. */
export async function editsAgree(stack: Stack): Promise<boolean> {
  const user = stack.users.find((u) => u.profiles.length > 0)
  if (!user) return false
  const id = user.profiles[0]!
  const location = `Probe ${Date.now()}`
  const edited = await request(stack.bases.at(-1)!, 'PATCH', `/api/business-profiles/${id}`, {
    token: user.token,
    ip: user.ip,
    body: { location },
  })
  if (edited.status !== 200) return false
  user.edits.set(id, { location, phase: 'probe', maybe: [] })
  for (const base of stack.bases) {
    const res = await request(base, 'GET', `/api/business-profiles/${id}`, { token: user.token, ip: user.ip })
    if (res.body?.location !== location) return false
  }
  return true
}
