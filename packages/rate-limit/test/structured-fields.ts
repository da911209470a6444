/**
 * A small RFC 8941 List parser (strings, tokens, integers, parameters): enough to
 * check that the draft-11/draft-8 headers parse as Structured Fields, independently
 * of the code that writes them.
 */
export interface SfItem {
  value: string | number
  params: Record<string, string | number | boolean>
}

export function parseSfList(input: string): SfItem[] {
  let i = 0
  const text = input
  const fail = (what: string): never => {
    throw new Error(`Invalid structured field at ${i} (${what}): ${text}`)
  }
  const skipSp = () => {
    while (text[i] === ' ') i++
  }
  const skipOws = () => {
    while (text[i] === ' ' || text[i] === '\t') i++
  }
  const bareItem = (): string | number => {
    const c = text[i]
    if (c === '"') {
      i++
      let out = ''
      while (i < text.length) {
        const ch = text[i++]!
        if (ch === '\\') out += text[i++]
        else if (ch === '"') return out
        else out += ch
      }
      return fail('unterminated string')
    }
    if (c !== undefined && /[-0-9]/.test(c)) {
      const match = /^-?\d{1,15}/.exec(text.slice(i))
      if (!match) return fail('number')
      i += match[0].length
      return Number(match[0])
    }
    if (c !== undefined && /[A-Za-z*]/.test(c)) {
      const match = /^[A-Za-z*][A-Za-z0-9:/!#$%&'*+\-.^_`|~]*/.exec(text.slice(i))!
      i += match[0].length
      return match[0]
    }
    return fail('bare item')
  }
  const params = () => {
    const out: Record<string, string | number | boolean> = {}
    while (text[i] === ';') {
      i++
      skipSp()
      const match = /^[a-z*][a-z0-9_\-.*]*/.exec(text.slice(i))
      if (!match) fail('parameter key')
      i += match![0].length
      if (text[i] === '=') {
        i++
        out[match![0]] = bareItem()
      } else out[match![0]] = true
    }
    return out
  }
  const items: SfItem[] = []
  skipSp()
  while (i < text.length) {
    const value = bareItem()
    items.push({ value, params: params() })
    skipOws()
    if (i >= text.length) break
    if (text[i] !== ',') fail('expected ","')
    i++
    skipOws()
    if (i >= text.length) fail('trailing comma')
  }
  return items
}
