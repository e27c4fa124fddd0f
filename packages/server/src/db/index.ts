export type {
  ColumnInfo,
  ColumnKind,
  ColumnSpec,
  Database,
  Dialect,
  IndexSpec,
  Queryable,
  RunResult,
  ScalarType,
  SearchClause,
  SearchDialect,
  SearchIndexSpec,
  SearchTerms,
  Sql,
  SqlValue,
  TableSpec,
} from "./dialect.js";
export { scalarTypeOf } from "./dialect.js";
export {
  ConstraintViolationError,
  DbCorruptError,
  DbError,
  DbStatementError,
  DbTimeoutError,
  DbUnavailableError,
  UniqueViolationError,
} from "./errors.js";
export { observeDatabase, type QueryObserver, statementKind } from "./observed.js";
export { isPostgresUrl, type OpenDatabaseOptions, openAuxiliaryDatabase, openDatabase } from "./open.js";
export { postgresDialect } from "./postgres/dialect.js";
export { openPostgres, PostgresDatabase, type PostgresOptions } from "./postgres/driver.js";
export { createView, dropTable, dropView, syncTable } from "./schema-sync.js";
export { sqliteDialect } from "./sqlite/dialect.js";
export { openSqlite, SqliteDatabase, type SqliteOptions } from "./sqlite/driver.js";
export { checkSqliteFile } from "./sqlite/snapshot.js";
