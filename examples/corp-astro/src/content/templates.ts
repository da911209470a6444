import type { Database } from '../db/database.js'

export interface Template {
  id: string
  kind: 'daily' | 'monthly'
  title: string
  body: string
}

/** Templates loaded once at start: content generation never queries for them. */
export interface TemplateStore {
  pick(kind: Template['kind'], seed: number): Template
  all(): readonly Template[]
}

export async function loadTemplates(main: Database): Promise<TemplateStore> {
  const rows = await main.query<Template>(
    `SELECT id, kind, title, body FROM ${main.schema}.content_templates ORDER BY id`,
  )
  const byKind = {
    daily: rows.filter((t) => t.kind === 'daily'),
    monthly: rows.filter((t) => t.kind === 'monthly'),
  }
  if (byKind.daily.length === 0 || byKind.monthly.length === 0) {
    throw new Error('No content templates found: have the migrations run?')
  }
  return {
    pick(kind, seed) {
      const list = byKind[kind]
      return list[Math.abs(seed) % list.length]!
    },
    all: () => rows,
  }
}

/** Fills `{{name}}` placeholders; unknown ones are left as they are. */
export function render(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => (key in values ? String(values[key]) : whole))
}
