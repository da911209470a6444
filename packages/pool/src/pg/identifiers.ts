// Table and column names cannot be bound as parameters, so they are spliced into the
// SQL text. Only plain identifiers are accepted, and each is double-quoted, so no
// name can close the quote or carry a second statement.

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/

/** Thrown for a table or column name the helpers refuse to put in SQL. */
export class PgIdentifierError extends TypeError {
  constructor(call: string, what: string, value: unknown) {
    super(
      `${call}: invalid ${what} ${JSON.stringify(value)}: expected a plain identifier ` +
        '(letters, digits, _ or $, not starting with a digit, at most 63 characters), ' +
        'optionally qualified by a schema as "schema.table"',
    )
    this.name = 'PgIdentifierError'
  }
}

/** `name` double-quoted (its case kept), after checking it is a plain identifier. */
export function quoteIdentifier(call: string, what: string, name: unknown): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) throw new PgIdentifierError(call, what, name)
  return `"${name}"`
}

/** `table` or `schema.table`, each part quoted: `"schema"."table"`. */
export function quoteTableName(call: string, table: unknown): string {
  if (typeof table !== 'string') throw new PgIdentifierError(call, 'table name', table)
  const parts = table.split('.')
  if (parts.length > 2) throw new PgIdentifierError(call, 'table name', table)
  return parts.map((part) => quoteIdentifier(call, 'table name', part === '' ? table : part)).join('.')
}

/** The bare table name (no schema, no quotes) that a table's cache tag is made of. */
export function tableTagName(table: string): string {
  const bare = table.slice(table.lastIndexOf('.') + 1)
  return bare.startsWith('"') ? bare.slice(1, -1) : bare.toLowerCase()
}
