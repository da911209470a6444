import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Options } from 'tsup'

interface Manifest {
  type?: string
  main?: string
  exports?: unknown
  dependencies?: Record<string, string>
}

function readManifest(dir: string): Manifest | undefined {
  const path = join(dir, 'package.json')
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Manifest) : undefined
}

/** True when a package's exports map (or `main`) offers no CommonJS entry anywhere. */
function isEsmOnly(manifest: Manifest): boolean {
  if (JSON.stringify(manifest.exports ?? {}).includes('"require"')) return false
  return manifest.type === 'module' || Boolean(manifest.main?.endsWith('.mjs'))
}

/**
 * The dependencies of the package being built (tsup runs in its folder) that ship only
 * ESM. Node 20 before 20.19 cannot `require()` ESM (ERR_REQUIRE_ESM), and `engines` says
 * `>=20`, so the CJS build must not `require` them: they are bundled instead.
 */
function esmOnlyDependencies(dir: string): string[] {
  const dependencies = Object.keys(readManifest(dir)?.dependencies ?? {})
  return dependencies.filter((name) => {
    const manifest = readManifest(join(dir, 'node_modules', name))
    return manifest !== undefined && isEsmOnly(manifest)
  })
}

/**
 * The one build every package shares: ESM + CJS with `.d.ts`/`.d.cts`, sourcemaps,
 * dependencies left external except those that ship only ESM (see above). A package
 * passes its entry points (the barrel and any framework subpath such as `express`),
 * nothing else. The package's `build` script then runs scripts/mark-optional-types.mjs,
 * which lets the declarations of an optional peer degrade to `any` when it is absent.
 */
export function preset(entry: Record<string, string>): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    target: 'node20',
    platform: 'node',
    dts: { compilerOptions: { paths: {}, baseUrl: undefined } },
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
    outDir: 'dist',
    noExternal: esmOnlyDependencies(process.cwd()),
  }
}
