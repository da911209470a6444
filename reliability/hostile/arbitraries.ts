import fc from 'fast-check'

/** Strings an attacker tries: SQL metacharacters, traversal, markup, format strings. */
const NASTY = [
  "' OR '1'='1",
  "'; DROP TABLE users; --",
  '" OR ""="',
  '1; SELECT pg_sleep(10)',
  "\\'",
  '%00',
  '\u0000',
  '../../../../etc/passwd',
  '<script>alert(1)</script>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, meant literally
  '${7*7}',
  '{{7*7}}',
  '%s%s%s%n',
  '__proto__',
  'constructor',
  'prototype',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '\u202e\u0644\u0627 \uD83D\uDE00 \u0000 \uFFFF',
  '\uD800',
  'a'.repeat(300),
]

/** A short string: nasty constants or any unicode (fits in a URL or a header). */
export const shortHostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.nat({ max: 2_000 }).map((n) => 'x'.repeat(n)) },
)

/** A string for a body: short and nasty, or huge (past the 64 kB body limit). */
export const hostileString = fc.oneof(
  { weight: 8, arbitrary: shortHostileString },
  { weight: 1, arbitrary: fc.nat({ max: 200_000 }).map((n) => 'x'.repeat(n)) },
)

/** Any JSON value with the wrong types where types matter. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.integer(),
      fc.double(),
      fc.constantFrom(0, -1, 2 ** 53, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER + 2),
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}) },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(hostileString, hostileString, { maxKeys: 3 }) },
)

/** JSON text `depth` levels deep: arrays or objects nested inside one another. */
export function deepJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}1${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
}

/** Prototype-pollution payloads as raw JSON, so `__proto__` stays an own key. */
export const pollution = fc.constantFrom(
  '{"__proto__":{"polluted":"yes","isAdmin":true,"role":"admin"}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '{"email":"a@b.co","password":"correct horse battery","name":"x","__proto__":{"polluted":"yes"}}',
  '{"name":"x","__proto__":{"tier":"premium","polluted":"yes"}}',
  '{"events":[{"type":"x","properties":{"__proto__":{"polluted":"yes"}}}]}',
  '{"tier":"premium","constructor":{"prototype":{"polluted":"yes"}}}',
)

/**
 * A body for an endpoint whose valid body is `valid`: the valid shape with fields
 * replaced by hostile values, extra keys, or something else entirely (raw text).
 */
export function hostileBody(valid: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid)
  const mutated = fc
    .record({
      replace: fc.subarray(keys),
      values: fc.array(hostileValue, { minLength: keys.length, maxLength: keys.length }),
      extra: fc.dictionary(hostileString, hostileValue, { maxKeys: 2 }),
    })
    .map(({ replace, values, extra }) => {
      const body: Record<string, unknown> = { ...valid, ...extra }
      replace.forEach((key, index) => {
        body[key] = values[index]
      })
      return body
    })
  return fc.oneof(
    { weight: 5, arbitrary: mutated },
    { weight: 2, arbitrary: hostileValue },
    { weight: 1, arbitrary: pollution },
    {
      weight: 1,
      arbitrary: fc
        .record({
          depth: fc.integer({ min: 100, max: 20_000 }),
          kind: fc.constantFrom('array', 'object') as fc.Arbitrary<'array' | 'object'>,
        })
        .map(({ depth, kind }) => deepJson(depth, kind)),
    },
    { weight: 1, arbitrary: fc.constantFrom('{', '{"a":', 'null', '"', '\u0000', '[]', '{}'.repeat(3)) },
  )
}

/** A raw query string: valid-looking keys with hostile values, arrays, nesting, repeats. */
export function hostileQuery(keys: string[]): fc.Arbitrary<string> {
  const key = fc.oneof(
    fc.constantFrom(
      ...keys,
      '__proto__',
      'constructor[prototype][x]',
      `${keys[0] ?? 'a'}[]`,
      `${keys[0] ?? 'a'}[x]`,
    ),
    shortHostileString,
  )
  const pair = fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(key, fc.oneof(shortHostileString, fc.constant('')))
        .map(([k, v]) => `${percent(k)}=${percent(v)}`),
    },
    // Malformed escapes, which a naive decodeURIComponent throws on.
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '%',
        'page=%zz',
        'limit=%E0%A4%A',
        '%ff=1',
        'page=1&page=2',
        '&&&=',
        'days=%00',
      ),
    },
  )
  return fc.array(pair, { maxLength: 5 }).map((pairs) => (pairs.length ? `?${pairs.join('&')}` : ''))
}

/** Percent-encodes every byte but the unreserved ones; lone surrogates become U+FFFD, as in a real client. */
export function percent(value: string): string {
  let out = ''
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte)
    out += /[A-Za-z0-9\-_.~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** A path segment where an id belongs. */
export const hostileId = fc
  .oneof(shortHostileString, fc.uuid())
  .filter((s) => s.length > 0 && s.length < 4000)
  .map((s) => percent(s))

/** Extra request headers: odd content types, bogus validators, forged proxies, cookies. */
export const hostileHeaders: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    'content-type': fc.constantFrom(
      'application/json',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/problem+json',
      '*/*',
    ),
    accept: fc.constantFrom('*/*', 'text/html', 'application/xml', 'application/json;q=0', ''),
    'if-none-match': fc.constantFrom('*', 'W/"x"', '"', 'garbage'),
    'x-forwarded-for': fc.constantFrom('1.1.1.1, 2.2.2.2', 'not-an-ip', '::1', '999.999.999.999', ''),
    cookie: fc.constantFrom('session=abc; token=def', '__proto__=x', 'a'.repeat(4000)),
    'accept-encoding': fc.constantFrom('gzip', 'br', 'identity;q=0', 'x'),
  },
  { requiredKeys: [] },
)
