import { tableTagName } from './identifiers.js'

// The statement kinds that change a table, and where its name sits. A statement that
// starts otherwise (a SELECT, or a CTE that writes) is not recognised; the caller names
// what it changes with `invalidates`.
const NAME = String.raw`((?:"[^"]+"|[A-Za-z_][\w$]*)(?:\s*\.\s*(?:"[^"]+"|[A-Za-z_][\w$]*))?)`
const WRITE = new RegExp(
  String.raw`^\s*(?:INSERT\s+INTO|UPDATE(?:\s+ONLY)?|DELETE\s+FROM(?:\s+ONLY)?|MERGE\s+INTO|TRUNCATE(?:\s+TABLE)?(?:\s+ONLY)?|COPY)\s+${NAME}`,
  'i',
)

/**
 * The table a plain INSERT, UPDATE, DELETE, MERGE, TRUNCATE or COPY statement changes, as a
 * bare name (`shard_0.users` → `users`, `"Users"` → `Users`), or undefined for anything else.
 */
export function writtenTable(sql: string): string | undefined {
  const match = WRITE.exec(sql)
  return match ? tableTagName(match[1]!.replace(/\s+/g, '')) : undefined
}
