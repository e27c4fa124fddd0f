export type {
  ColumnInfo,
  ColumnKind,
  ColumnSpec,
  Database,
  Dialect,
  IndexSpec,
  Queryable,
  RunResult,
  Sql,
  SqlValue,
  TableSpec,
} from "./dialect.js";
export {
  ConstraintViolationError,
  DbCorruptError,
  DbError,
  DbStatementError,
  DbUnavailableError,
  UniqueViolationError,
} from "./errors.js";
export { postgresDialect } from "./postgres/dialect.js";
export { createView, dropTable, dropView, syncTable } from "./schema-sync.js";
export { sqliteDialect } from "./sqlite/dialect.js";
export { openSqlite, SqliteDatabase, type SqliteOptions } from "./sqlite/driver.js";
