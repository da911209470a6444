#!/usr/bin/env node
// Checks the shape that lets a maintainer change one package without reading all of it:
// - entry points (every tsup entry) sit at the top of `src/`, and the rest of the code sits in
//   folders named for the package's products (at most a few shared modules at the top);
// - imports run one way: no module imports an entry point, and no two modules import each
//   other, directly or through others (a cycle means an owner calls back up to its caller);
// - no module exports a mutable collection (a Map, Set, array or `let` another file could
//   change): state has one owner, and other files call its verbs;
// - no double cast (`as unknown as`): it is how code reaches into another library's private
//   fields, which a patch release of that library can break without a type error.
// Usage: `node scripts/check-structure.mjs [package...]` (all published packages by default).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'

const root = new URL('..', import.meta.url).pathname
/** Modules that may sit at the top of `src/` beside the entry points (shared by every product). */
const MAX_SHARED_AT_TOP = 6

const wanted = process.argv.slice(2)
const packages = readdirSync(join(root, 'packages'))
  .filter((name) => existsSync(join(root, 'packages', name, 'tsup.config.ts')))
  .filter((name) => wanted.length === 0 || wanted.includes(name))

const problems = []
for (const name of packages) problems.push(...checkPackage(name).map((problem) => `${name}: ${problem}`))

if (problems.length > 0) {
  console.error(
    `check-structure: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}`,
  )
  process.exit(1)
}
console.log(
  `check-structure: ${packages.length} packages, entry points on top, products in folders, imports one way`,
)

function checkPackage(name) {
  const dir = join(root, 'packages', name)
  const src = join(dir, 'src')
  const problems = []
  const entries = entryFiles(dir)
  const files = listTs(src)

  const shared = files.filter((file) => dirname(file) === src && !entries.has(file))
  if (shared.length > MAX_SHARED_AT_TOP) {
    problems.push(
      `${shared.length} modules at the top of src/ beside the entry points (at most ${MAX_SHARED_AT_TOP}); ` +
        `move them into a folder per product: ${shared.map((file) => relative(src, file)).join(', ')}`,
    )
  }

  const graph = new Map()
  for (const file of files) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
    graph.set(file, localImports(source, file))
    problems.push(...exportedMutables(source).map((what) => `${rel(file)} exports ${what}`))
    problems.push(...doubleCasts(source).map((line) => `${rel(file)}:${line} casts through unknown`))
  }

  for (const [file, imports] of graph) {
    if (entries.has(file)) continue
    for (const target of imports) {
      if (entries.has(target)) problems.push(`${rel(file)} imports the entry point ${rel(target)}`)
    }
  }
  for (const cycle of cycles(graph)) problems.push(`import cycle: ${cycle.map(rel).join(' -> ')}`)
  return problems
}

function rel(file) {
  return relative(root, file)
}

/** The files tsup builds as entry points: `name: 'src/x.ts'` in tsup.config.ts. */
function entryFiles(dir) {
  const config = readFileSync(join(dir, 'tsup.config.ts'), 'utf8')
  return new Set([...config.matchAll(/['"](src\/[\w/.-]+\.ts)['"]/g)].map((match) => join(dir, match[1])))
}

function listTs(dir) {
  const out = []
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) out.push(...listTs(path))
    else if (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) out.push(path)
  }
  return out
}

/** Relative imports and re-exports of a module, resolved to files (`./x.js` is `./x.ts`). */
function localImports(source, file) {
  const out = new Set()
  const add = (specifier) => {
    if (!specifier.startsWith('.')) return
    const base = resolve(dirname(file), specifier)
    for (const candidate of [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) {
      if (existsSync(candidate) && statSync(candidate).isFile()) {
        out.add(candidate)
        return
      }
    }
  }
  for (const statement of source.statements) {
    if (
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
      statement.moduleSpecifier &&
      ts.isStringLiteral(statement.moduleSpecifier)
    ) {
      // Type-only imports are part of the direction too: a type an owner takes from its caller
      // ties the owner to that caller as much as a value does.
      add(statement.moduleSpecifier.text)
    }
  }
  return out
}

const COLLECTIONS = new Set(['Map', 'Set', 'WeakMap', 'WeakSet', 'Array'])

/** Exported bindings another module could mutate: `export let`, and Maps, Sets and arrays. */
function exportedMutables(source) {
  const out = []
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue
    if (!statement.modifiers?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)) continue
    const isLet = !(statement.declarationList.flags & ts.NodeFlags.Const)
    for (const declaration of statement.declarationList.declarations) {
      const name = declaration.name.getText(source)
      if (isLet) {
        out.push(`a mutable binding \`${name}\``)
        continue
      }
      const init = unwrap(declaration.initializer)
      if (!init) continue
      if (
        ts.isNewExpression(init) &&
        ts.isIdentifier(init.expression) &&
        COLLECTIONS.has(init.expression.text)
      )
        out.push(`a mutable ${init.expression.text} \`${name}\``)
      else if (
        ts.isArrayLiteralExpression(init) &&
        !isConstAsserted(declaration.initializer) &&
        !isReadonlyType(declaration.type)
      )
        out.push(`a mutable array \`${name}\` (freeze it or declare it \`as const\`)`)
    }
  }
  return out
}

/** `readonly T[]` or `ReadonlyArray<T>`: the compiler refuses writes through the export. */
function isReadonlyType(type) {
  if (!type) return false
  if (ts.isTypeOperatorNode(type) && type.operator === ts.SyntaxKind.ReadonlyKeyword) return true
  return ts.isTypeReferenceNode(type) && type.typeName.getText() === 'ReadonlyArray'
}

function unwrap(node) {
  let current = node
  while (
    current &&
    (ts.isAsExpression(current) || ts.isSatisfiesExpression(current) || ts.isParenthesizedExpression(current))
  )
    current = current.expression
  return current
}

function isConstAsserted(node) {
  let current = node
  while (
    current &&
    (ts.isAsExpression(current) || ts.isSatisfiesExpression(current) || ts.isParenthesizedExpression(current))
  ) {
    if (ts.isAsExpression(current) && current.type.getText() === 'const') return true
    current = current.expression
  }
  return false
}

function doubleCasts(source) {
  const lines = []
  const visit = (node) => {
    if (
      ts.isAsExpression(node) &&
      ts.isAsExpression(unwrapParens(node.expression)) &&
      unwrapParens(node.expression).type.kind === ts.SyntaxKind.UnknownKeyword
    ) {
      lines.push(source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return lines
}

function unwrapParens(node) {
  let current = node
  while (ts.isParenthesizedExpression(current)) current = current.expression
  return current
}

/** Each import cycle once (Tarjan's strongly connected components of more than one file, or a self-import). */
function cycles(graph) {
  let index = 0
  const indexOf = new Map()
  const low = new Map()
  const stack = []
  const onStack = new Set()
  const found = []
  const strongConnect = (file) => {
    indexOf.set(file, index)
    low.set(file, index)
    index++
    stack.push(file)
    onStack.add(file)
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue
      if (!indexOf.has(next)) {
        strongConnect(next)
        low.set(file, Math.min(low.get(file), low.get(next)))
      } else if (onStack.has(next)) {
        low.set(file, Math.min(low.get(file), indexOf.get(next)))
      }
    }
    if (low.get(file) === indexOf.get(file)) {
      const component = []
      let member
      do {
        member = stack.pop()
        onStack.delete(member)
        component.push(member)
      } while (member !== file)
      if (component.length > 1 || graph.get(file)?.has(file))
        found.push([...component.reverse(), component[0]])
    }
  }
  for (const file of graph.keys()) if (!indexOf.has(file)) strongConnect(file)
  return found
}
