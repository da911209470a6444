#!/usr/bin/env node
// Installs the packages the way a user gets them and uses them the way a user does.
//
// 1. `pnpm pack`s every published package and checks each tarball: LICENSE, README,
//    every file the README links, and the manifest's license/repository/homepage/bugs.
// 2. Installs the tarballs with npm into a fresh project (third-party dependencies come
//    from the registry), with no optional peer installed: a memory-only user.
// 3. Compiles the typical uses in scripts/consumer/memory with a strict tsc
//    (`skipLibCheck: false`), once with `module: nodenext` (as ESM .mts and as CJS .cts)
//    and once with `moduleResolution: bundler`; then runs the compiled files, and
//    `import()`s and `require()`s every main entry, on the current Node and on the oldest
//    Node the packages' `engines` allows (fetched from the npm registry's `node` package
//    and cached in $TMPDIR).
// 4. Adds every peer the packages declare (ioredis, express and its types, pg, ...) and does
//    the same with scripts/consumer/peers (including a file that must NOT compile if the
//    Redis types fell back to `any` while ioredis is installed), then loads every entry
//    and subpath on both Nodes.
// Run after `pnpm build`. Exits 1 naming every failure.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const fixtures = join(root, 'scripts', 'consumer')
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const keep = process.argv.includes('--keep')
const failures = []
const started = Date.now()

const REPOSITORY_URL = 'https://github.com/headroom-js/headroom'

function log(message) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${message}`)
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, ...options })
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim()
  if (result.error) return { ok: false, output: `${output}\n${result.error.message}` }
  return { ok: result.status === 0, output }
}

/** Like run, without blocking: the tsc flavours and the fixture runs go two at a time. */
function runAsync(command, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    const timer = setTimeout(() => {
      output += `\nkilled after ${options.timeout ?? 120_000} ms`
      child.kill('SIGKILL')
    }, options.timeout ?? 120_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ ok: code === 0, output: output.trim() })
    })
  })
}

/** Runs jobs (functions returning promises) at most `width` at a time. */
async function inParallel(jobs, width = 2) {
  const queue = [...jobs]
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (queue.length > 0) await queue.shift()()
    }),
  )
}

function check(label, result) {
  if (result.ok) return true
  failures.push(label)
  console.error(`FAIL ${label}\n${result.output.replace(/^/gm, '  ')}`)
  return false
}

const packages = readdirSync(join(root, 'packages'))
  .map((name) => ({ folder: name, dir: join(root, 'packages', name) }))
  .filter(({ dir }) => existsSync(join(dir, 'package.json')))
  .map((pkg) => ({ ...pkg, manifest: JSON.parse(readFileSync(join(pkg.dir, 'package.json'), 'utf8')) }))
  .filter(({ manifest }) => !manifest.private)

// Every peer any package declares, in the range it declares (npm picks the newest that
// fits), plus the types the peers fixtures need to compile with pg.
const PEERS = [
  ...new Set(
    packages.flatMap(({ manifest }) =>
      Object.entries(manifest.peerDependencies ?? {}).map(([name, range]) => `${name}@${range}`),
    ),
  ),
  '@types/pg@^8',
]

for (const { manifest, dir } of packages) {
  if (!existsSync(join(dir, 'dist'))) {
    console.error(`${manifest.name} has no dist/: run pnpm build first`)
    process.exit(1)
  }
}

/** The lowest Node version every package's `engines.node` admits (each must be `>=X[.Y[.Z]]`). */
function oldestNode() {
  const floors = packages.map(({ manifest }) => {
    const range = manifest.engines?.node ?? ''
    const match = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim())
    if (!match) throw new Error(`${manifest.name}: engines.node ${JSON.stringify(range)} is not ">=X.Y.Z"`)
    return [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)]
  })
  floors.sort((a, b) => b[0] - a[0] || b[1] - a[1] || b[2] - a[2])
  return floors[0].join('.')
}

/** The `node` binary of that exact version, from the npm registry, cached between runs. */
function installNode(version) {
  const prefix = join(process.env.TMPDIR ?? tmpdir(), `headroom-ci-node${version}`)
  const bin = join(prefix, 'node_modules', '.bin', 'node')
  const installed = existsSync(bin) ? run(bin, ['--version']).output : ''
  if (installed !== `v${version}`) {
    log(`installing Node ${version} into ${prefix}`)
    const result = run('npm', [
      'install',
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--prefix',
      prefix,
      `node@${version}`,
    ])
    if (!result.ok) throw new Error(`npm install node@${version} failed:\n${result.output}`)
  }
  const version_ = run(bin, ['--version']).output
  if (version_ !== `v${version}`) throw new Error(`expected Node v${version} at ${bin}, got ${version_}`)
  return bin
}

/** Relative links and images in a README (Markdown links and HTML src/href). */
function readmeLinks(text) {
  const links = [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)|(?:src|href)="([^"]+)"/g)].map(
    (m) => m[1] ?? m[2],
  )
  return links.filter((link) => !/^(?:[a-z]+:|#|\/\/)/i.test(link)).map((link) => link.split('#')[0])
}

/** The files TypeScript's typesVersions `paths` offer for a subpath (exact keys first, then `*` patterns). */
function typesVersionsTargets(paths, subpath) {
  const exact = paths[subpath] ?? []
  const patterns = Object.entries(paths).flatMap(([pattern, targets]) => {
    const star = pattern.indexOf('*')
    if (star < 0) return []
    const [head, tail] = [pattern.slice(0, star), pattern.slice(star + 1)]
    if (!subpath.startsWith(head) || !subpath.endsWith(tail)) return []
    const match = subpath.slice(head.length, subpath.length - tail.length)
    return targets.map((target) => target.replace('*', match))
  })
  return [...exact, ...patterns]
}

function checkTarball({ manifest, folder }, tarball) {
  const name = manifest.name
  const listing = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((path) => path.replace(/^package\//, ''))
  const files = new Set(listing)
  const problems = []
  for (const required of ['LICENSE', 'README.md', 'package.json'])
    if (!files.has(required)) problems.push(`${required} is not in the tarball`)
  const extract = mkdtempSync(join(tmpdir(), 'headroom-tarball-'))
  try {
    execFileSync('tar', ['-xzf', tarball, '-C', extract])
    const readme = existsSync(join(extract, 'package', 'README.md'))
      ? readFileSync(join(extract, 'package', 'README.md'), 'utf8')
      : ''
    for (const link of readmeLinks(readme)) {
      const path = join('.', link)
      if (path.startsWith('..'))
        problems.push(`README links ${link}, outside the package (use an absolute URL)`)
      else if (!files.has(path) && !listing.some((file) => file.startsWith(`${path}/`)))
        problems.push(`README links ${link}, which is not in the tarball (add it to "files")`)
    }
    const packed = JSON.parse(readFileSync(join(extract, 'package', 'package.json'), 'utf8'))
    if (packed.license !== 'MIT')
      problems.push(`license is ${JSON.stringify(packed.license)}, expected "MIT"`)
    const repository = packed.repository ?? {}
    if (repository.url !== `git+${REPOSITORY_URL}.git` || repository.directory !== `packages/${folder}`)
      problems.push(
        `repository is ${JSON.stringify(packed.repository)}, expected { type: "git", url: "git+${REPOSITORY_URL}.git", directory: "packages/${folder}" }`,
      )
    if (!packed.homepage?.startsWith(REPOSITORY_URL))
      problems.push(`homepage is ${JSON.stringify(packed.homepage)}`)
    if (packed.bugs?.url !== `${REPOSITORY_URL}/issues`)
      problems.push(`bugs is ${JSON.stringify(packed.bugs)}`)
    // TypeScript's `moduleResolution: node` ignores `exports`: each subpath needs a typesVersions entry.
    for (const key of Object.keys(packed.exports ?? {}).filter((k) => k !== '.' && k !== './package.json')) {
      const candidates = typesVersionsTargets(packed.typesVersions?.['*'] ?? {}, key.slice(2))
      if (!candidates.some((file) => files.has(join('.', file))))
        problems.push(`subpath ${key}: typesVersions leads to no declaration file in the tarball`)
    }
    for (const [dep, range] of Object.entries({ ...packed.dependencies, ...packed.peerDependencies }))
      if (String(range).startsWith('workspace:')) problems.push(`${dep} is still ${range}`)
  } finally {
    rmSync(extract, { recursive: true, force: true })
  }
  return check(`${name}: tarball`, { ok: problems.length === 0, output: problems.join('\n') })
}

const STRICT = { strict: true, skipLibCheck: false, noUncheckedIndexedAccess: true, types: ['node'] }

/** Copies each fixture as .mts (ESM) and .cts (CommonJS) into project/src/<set>. */
function writeSources(project, set) {
  const from = join(fixtures, set)
  const to = join(project, 'src', set)
  mkdirSync(to, { recursive: true })
  for (const file of readdirSync(from).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(join(from, file), 'utf8')
    writeFileSync(join(to, file.replace(/\.ts$/, '.mts')), source)
    writeFileSync(join(to, file.replace(/\.ts$/, '.cts')), source)
  }
}

async function compile(project, sets) {
  const include = sets.map((set) => `src/${set}`)
  const flavours = {
    nodenext: {
      compilerOptions: { ...STRICT, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022' },
      include,
      outDir: 'out',
    },
    bundler: {
      compilerOptions: {
        ...STRICT,
        module: 'esnext',
        moduleResolution: 'bundler',
        target: 'es2022',
        noEmit: true,
      },
      include: include.map((dir) => `${dir}/*.mts`),
    },
  }
  let ok = true
  await inParallel(
    Object.entries(flavours).map(([flavour, { compilerOptions, include: files, outDir }]) => async () => {
      const config = join(project, `tsconfig.${flavour}.json`)
      const options = outDir ? { ...compilerOptions, outDir, rootDir: 'src' } : compilerOptions
      writeFileSync(config, JSON.stringify({ compilerOptions: options, include: files }, null, 2))
      const result = await runAsync(process.execPath, [tsc, '-p', config], { cwd: project, timeout: 600_000 })
      ok = check(`tsc (${flavour}) on ${sets.join(' + ')}`, result) && ok
    }),
  )
  return ok
}

/** Every exports key of every package, as a specifier (only the main entries when `mainOnly`). */
function entrySpecifiers(mainOnly) {
  return packages.flatMap(({ manifest }) =>
    Object.keys(manifest.exports ?? {})
      .filter((key) => key !== './package.json' && (!mainOnly || key === '.'))
      .map((key) => (key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`)),
  )
}

function loadEntries(project, nodes, label, mainOnly) {
  const specifiers = JSON.stringify(entrySpecifiers(mainOnly))
  writeFileSync(
    join(project, 'load-entries.mjs'),
    `import { createRequire } from 'node:module'
const require = createRequire(import.meta.url)
const failed = []
for (const specifier of ${specifiers}) {
  for (const [how, load] of [['import', (s) => import(s)], ['require', async (s) => require(s)]]) {
    try {
      const exports = await load(specifier)
      if (Object.keys(exports).length === 0) throw new Error('no exports')
    } catch (error) {
      failed.push(how + ' ' + specifier + ': ' + (error.code ?? '') + ' ' + error.message.split('\\n')[0])
    }
  }
}
if (failed.length) { console.error(failed.join('\\n')); process.exit(1) }
`,
  )
  for (const node of nodes) {
    const version = run(node, ['--version']).output
    const what = mainOnly ? 'every main entry' : 'every entry and subpath'
    check(
      `import + require ${what} on Node ${version} (${label})`,
      run(node, ['load-entries.mjs'], { cwd: project }),
    )
  }
}

async function runCompiled(project, set, nodes) {
  const dir = join(project, 'out', set)
  const files = readdirSync(dir).filter((f) => /\.[cm]js$/.test(f))
  const jobs = nodes.flatMap((node) => {
    const version = run(node, ['--version']).output
    return files.map((file) => async () => {
      // Each file exits by itself once its components are closed: a left-over timer or socket fails it.
      const result = await runAsync(node, [file], { cwd: dir, timeout: 30_000 })
      check(`run ${set}/${file} on Node ${version}`, result)
    })
  })
  await inParallel(jobs)
}

const work = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'headroom-consumer-'))
try {
  const nodes = [process.execPath, installNode(oldestNode())]

  log(`packing ${packages.length} packages into ${work}`)
  const tarballs = join(work, 'tarballs')
  mkdirSync(tarballs)
  const dependencies = {}
  for (const pkg of packages) {
    const before = new Set(readdirSync(tarballs))
    const packed = run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: pkg.dir })
    const tarball = readdirSync(tarballs).find((file) => !before.has(file))
    if (
      !check(`${pkg.manifest.name}: pnpm pack`, { ok: packed.ok && Boolean(tarball), output: packed.output })
    )
      continue
    checkTarball(pkg, join(tarballs, tarball))
    dependencies[pkg.manifest.name] = `file:../tarballs/${tarball}`
  }

  const project = join(work, 'project')
  mkdirSync(project)
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'headroom-consumer', private: true, type: 'module', dependencies }, null, 2),
  )
  log('npm install: the tarballs and @types/node, no optional peer')
  const npm = ['--no-audit', '--no-fund', '--loglevel=error']
  if (!check('npm install (tarballs)', run('npm', ['install', ...npm, '@types/node@^20'], { cwd: project })))
    throw new Error('cannot go on without an install')
  // Every @headroom package must be the packed one, never a copy fetched from the registry.
  const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8'))
  const strays = Object.entries(lock.packages)
    .filter(
      ([path, entry]) => path.includes('node_modules/@headroom/') && !entry.resolved?.startsWith('file:'),
    )
    .map(([path, entry]) => `${path} from ${entry.resolved}`)
  check('every @headroom package comes from its tarball', {
    ok: strays.length === 0,
    output: strays.join('\n'),
  })

  log('memory-only: strict tsc (nodenext, bundler), run on each Node, import/require the main entries')
  writeSources(project, 'memory')
  if (await compile(project, ['memory'])) await runCompiled(project, 'memory', nodes)
  // A subpath may load its framework at run time: without the peers only the main entries must load.
  loadEntries(project, nodes, 'no optional peer', true)

  log(`with the optional peers: npm install ${PEERS.join(' ')}`)
  if (check('npm install (peers)', run('npm', ['install', ...npm, ...PEERS], { cwd: project }))) {
    writeSources(project, 'peers')
    await compile(project, ['peers'])
    loadEntries(project, nodes, 'with the optional peers', false)
  }
} catch (error) {
  failures.push(error.message)
  console.error(error)
} finally {
  if (keep) console.log(`kept ${work}`)
  else rmSync(work, { recursive: true, force: true })
}

if (failures.length > 0) {
  console.error(`\n${failures.length} consumer check(s) failed:\n- ${failures.join('\n- ')}`)
  process.exit(1)
}
log(
  `every package installs from its tarball, compiles under strict tsc and loads on Node ${process.version} and the oldest Node engines allows`,
)
