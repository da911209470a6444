#!/usr/bin/env node
// Checks every published package the way a user meets it: publint on the manifest,
// @arethetypeswrong/cli on the packed tarball (node10, node16 ESM + CJS, bundler), and a smoke test
// that loads each entry point with import() and require() from the built dist.
// `--smoke-only` runs just the smoke test: the one check whose result depends on the Node
// version (CI runs it again on Node 24; publint and attw read files and need not).
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const failures = []
const smokeOnly = process.argv.includes('--smoke-only')

function run(command, args, cwd) {
  try {
    return execFileSync(command, args, { cwd, stdio: 'pipe', encoding: 'utf8' })
  } catch (error) {
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}):\n${error.stdout ?? ''}${error.stderr ?? ''}`)
  }
}

const packages = readdirSync(join(root, 'packages'))
  .map((name) => join(root, 'packages', name))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
  .filter(({ manifest }) => !manifest.private)

for (const { dir, manifest } of packages) {
  const name = manifest.name
  const entries = Object.keys(manifest.exports ?? {}).filter((key) => key !== './package.json')
  try {
    if (!existsSync(join(dir, 'dist'))) throw new Error(`${name} has no dist/: run pnpm build first`)
    if (!smokeOnly) {
      const publint = run('pnpm', ['exec', 'publint', '--strict', '--level', 'warning'], dir)
      if (/warn|error|suggestion/i.test(publint) && !/All good/i.test(publint))
        throw new Error(`publint:\n${publint}`)
      // The default (strict) profile includes node10 resolution: TypeScript users still on
      // `moduleResolution: node` reach subpaths through `typesVersions`.
      run('pnpm', ['exec', 'attw', '--pack', '.', '--format', 'ascii'], dir)
    }
    for (const entry of entries) {
      const specifier = entry === '.' ? name : `${name}/${entry.slice(2)}`
      run(
        'node',
        [
          '--input-type=module',
          '-e',
          `const m = await import('${specifier}'); if (!Object.keys(m).length) throw new Error('no exports')`,
        ],
        dir,
      )
      run(
        'node',
        [
          '-e',
          `const m = require('${specifier}'); if (!Object.keys(m).length) throw new Error('no exports')`,
        ],
        dir,
      )
    }
    console.log(
      `ok  ${name} (${entries.length} entry point${entries.length === 1 ? '' : 's'}: ${smokeOnly ? '' : 'publint, attw, '}import, require)`,
    )
  } catch (error) {
    failures.push(name)
    console.error(`FAIL ${name}\n${error.message}`)
  }
}

if (failures.length > 0) {
  console.error(`\n${failures.length} package(s) failed: ${failures.join(', ')}`)
  process.exit(1)
}
console.log(
  `\nAll ${packages.length} published packages pass ${smokeOnly ? 'the smoke test' : 'publint, attw and the smoke test'} on Node ${process.version}.`,
)
