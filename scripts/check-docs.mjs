#!/usr/bin/env node
/**
 * Docs that run (`pnpm check:docs [package...]`): every code block a package README marks
 * as runnable is written to a file and run, verbatim, the way a reader would run it.
 *
 * The marker is the fence's info string: ```ts runnable (or ```js runnable). GitHub
 * highlights by the first word only, so the marker costs the reader nothing. Blocks
 * without it are fragments (they name the reader's own `app`, `pool`, ...) and are skipped.
 *
 * Each block runs with `node --import tsx` from `packages/<pkg>/.tmp/docs/`, so its imports
 * resolve as a user's would: `@headroom/<pkg>` through the package's own `exports` (the
 * built `dist/`, hence `pnpm build` first), other packages from the package's dependencies.
 * The environment names the services CI has: REDIS_URL (redis://127.0.0.1:6379),
 * DATABASE_URL (postgres://postgres@127.0.0.1:5432/postgres) and a free PORT. A block must
 * exit 0 by itself within the timeout: one that leaves a server or a connection open fails.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const TIMEOUT_MS = Number(process.env.CHECK_DOCS_TIMEOUT_MS ?? 60_000)
const FENCE = /^```(ts|typescript|js|javascript)\s+runnable\s*$/

/** The runnable blocks of one README: `{ line, code }`, line = the fence's line (1-based). */
export function runnableBlocks(markdown) {
  const blocks = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (!FENCE.test(lines[i])) continue
    const start = i
    const code = []
    for (i++; i < lines.length && !lines[i].startsWith('```'); i++) code.push(lines[i])
    if (i >= lines.length) throw new Error(`unclosed runnable block at line ${start + 1}`)
    blocks.push({ line: start + 1, code: `${code.join('\n')}\n` })
  }
  return blocks
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

function run(file, cwd, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, TIMEOUT_MS)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, timedOut, output })
    })
  })
}

async function main() {
  const only = new Set(process.argv.slice(2))
  const packagesDir = join(root, 'packages')
  const packages = readdirSync(packagesDir).filter(
    (name) => existsSync(join(packagesDir, name, 'README.md')) && (only.size === 0 || only.has(name)),
  )
  const unknown = [...only].filter((name) => !packages.includes(name))
  if (unknown.length > 0) throw new Error(`check:docs: no package README for ${unknown.join(', ')}`)

  let total = 0
  const failures = []
  for (const name of packages) {
    const dir = join(packagesDir, name)
    const readme = join(dir, 'README.md')
    const blocks = runnableBlocks(readFileSync(readme, 'utf8'))
    if (blocks.length === 0) continue
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    if (!manifest.private && !existsSync(join(dir, 'dist'))) {
      throw new Error(
        `check:docs: ${manifest.name} is not built (no ${relative(root, dir)}/dist): run pnpm build first`,
      )
    }
    const work = join(dir, '.tmp', 'docs')
    rmSync(work, { recursive: true, force: true })
    mkdirSync(work, { recursive: true })
    // Without a tsconfig of its own, tsx would take the package's (whose paths point at the
    // sources); the blocks must import the package as a user does, through its exports.
    writeFileSync(
      join(work, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'nodenext', target: 'es2022', strict: true } }),
    )
    for (const block of blocks) {
      total++
      const where = `${relative(root, readme)}:${block.line}`
      const file = join(work, `README-${block.line}.ts`)
      writeFileSync(file, block.code)
      const started = Date.now()
      const result = await run(file, work, {
        REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
        PORT: String(await freePort()),
        NODE_ENV: 'test',
      })
      const ms = Date.now() - started
      if (result.code === 0) {
        console.log(`ok   ${where} (${ms} ms)`)
        continue
      }
      const why = result.timedOut
        ? `did not exit by itself within ${TIMEOUT_MS} ms (a server or connection left open?)`
        : `exited with ${result.code ?? result.signal}`
      console.log(`FAIL ${where}: ${why}\n${result.output.replace(/^/gm, '     | ')}`)
      failures.push(where)
    }
    rmSync(join(dir, '.tmp', 'docs'), { recursive: true, force: true })
  }
  if (total === 0) throw new Error('check:docs: no ```ts runnable block found in any package README')
  console.log(`\n${total - failures.length}/${total} runnable README blocks ran`)
  if (failures.length > 0) {
    console.log(`failed: ${failures.join(', ')}`)
    process.exitCode = 1
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error.message)
    process.exit(1)
  })
}
