import type { Options } from 'tsup'

/**
 * The one build every package shares: ESM + CJS with `.d.ts`/`.d.cts`, sourcemaps,
 * dependencies left external. A package passes its entry points (the barrel and any
 * framework subpath such as `express`), nothing else.
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
  }
}
