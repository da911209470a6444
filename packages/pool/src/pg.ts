export { PgIdentifierError } from './pg/identifiers.js'
export type {
  BulkInsertOptions,
  IsolationLevel,
  PgQueriesOptions,
  QueryCache,
  QueryOptions,
  TransactionOptions,
} from './pg/options.js'
export {
  createPgQueries,
  type PgQueries,
  type PgQueriesPool,
  type QueryRows,
  type TransactionScope,
} from './pg/queries.js'
export { isConflictError, isConnectionLostError, isTransientPgError } from './pg/transient.js'
