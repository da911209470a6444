#!/usr/bin/env node
// Runs after tsup in a package folder (its `build` script). Every import of an optional
// peer dependency in dist/*.d.ts and dist/*.d.cts gets a `// @ts-ignore` line above it.
//
// Why: a memory-only user installs no ioredis, an http user no express types. Without the
// mark, a consumer compiling with `skipLibCheck: false` fails on our declarations with
// TS2307 ("Cannot find module 'ioredis'"). With it, the import resolves to `any` when the
// peer is absent, and to the peer's real types when it is installed (the consumer test in
// scripts/check-consumer.mjs checks both). tsup's declaration bundler drops comments on
// imports, so the mark is added to its output.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const dir = process.cwd()
const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
const optional = Object.entries(manifest.peerDependenciesMeta ?? {})
  .filter(([, meta]) => meta?.optional)
  .map(([name]) =>
    name.replace(/^@types\/(?:(.+)__)?(.+)$/, (_, scope, name) => (scope ? `@${scope}/${name}` : name)),
  )
const MARK = '// @ts-ignore optional peer dependency: without it these types are `any`'
const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
const specifier = new RegExp(
  `(?:from |import\\(|import )['"](?:${optional.map(escapeRegExp).join('|')})(?:/[^'"]*)?['"]`,
)

let marked = 0
if (optional.length > 0) {
  for (const file of readdirSync(join(dir, 'dist')).filter((name) => /\.d\.[cm]?ts$/.test(name))) {
    const path = join(dir, 'dist', file)
    const lines = readFileSync(path, 'utf8').split('\n')
    const out = []
    for (const line of lines) {
      // Only import statements and import() types, not `import x from 'y'` inside a JSDoc example.
      const code = !/^\s*(?:\*|\/\/)/.test(line)
      if (code && specifier.test(line) && out.at(-1) !== MARK) {
        out.push(MARK)
        marked++
      }
      out.push(line)
    }
    writeFileSync(path, out.join('\n'))
  }
}
console.log(`${manifest.name}: marked ${marked} optional-peer type import(s) in dist`)
