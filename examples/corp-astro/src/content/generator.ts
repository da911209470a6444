import { murmur3 } from '@headroom/core'
import type { Forecast } from '../astro/service.js'
import type { BusinessProfile } from '../profiles/repository.js'
import { sunSign } from '../profiles/zodiac.js'
import { render, type TemplateStore } from './templates.js'

/** Fetches a forecast, or null when the astro service is unavailable (breaker open, error, timeout). */
export type ForecastSource = (sign: string, date: string) => Promise<Forecast | null>

export interface Generated {
  title: string
  body: string
  source: 'astro' | 'template'
  templateId: string
  data: Record<string, unknown>
}

function astroParagraph(forecast: Forecast): string {
  const retro = forecast.mercuryRetrograde
    ? ' Mercury is retrograde: double-check contracts and messages.'
    : ''
  return `Today's energy is ${forecast.energy}/10, with the stars pointing at ${forecast.focus}. Lucky number: ${forecast.luckyNumber}.${retro}`
}

/**
 * Content from a template plus, when the astro service answers, its forecast. Without
 * the forecast the content is template-only: the page still renders, just plainer.
 */
export async function generateContent(
  templates: TemplateStore,
  forecastSource: ForecastSource,
  profile: BusinessProfile,
  kind: 'daily' | 'monthly',
  date: string,
): Promise<Generated> {
  const sign = sunSign(profile.foundingDate)
  const template = templates.pick(kind, murmur3(`${profile.id}|${kind}|${date}`))
  const values = {
    name: profile.name,
    sign,
    industry: profile.industry,
    location: profile.location,
    month: date.slice(0, 7),
  }
  const forecast = await forecastSource(sign, date)
  const body = render(template.body, values)
  return {
    title: render(template.title, values),
    body: forecast ? `${body}\n\n${astroParagraph(forecast)}` : body,
    source: forecast ? 'astro' : 'template',
    templateId: template.id,
    data: { sign, ...(forecast ? { forecast } : {}) },
  }
}
