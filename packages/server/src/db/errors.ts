/** Base class of database errors after a driver's error has been translated; never shown to clients as-is. */
export class DbError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "DbError";
  }
}

/** A unique constraint or unique index rejected a write; `columns` are the offending column names. */
export class UniqueViolationError extends DbError {
  readonly table: string;
  readonly columns: readonly string[];

  constructor(table: string, columns: readonly string[], cause?: unknown) {
    super(`unique constraint failed on ${table}(${columns.join(", ")})`, cause);
    this.name = "UniqueViolationError";
    this.table = table;
    this.columns = columns;
  }
}

/** A foreign key or NOT NULL/CHECK constraint rejected a write. */
export class ConstraintViolationError extends DbError {
  constructor(message: string, cause?: unknown) {
    super(message, cause);
    this.name = "ConstraintViolationError";
  }
}

/** The database file is not a database, or is damaged. */
export class DbCorruptError extends DbError {
  constructor(message: string, cause?: unknown) {
    super(message, cause);
    this.name = "DbCorruptError";
  }
}

/** The database cannot be reached or is busy beyond its timeout; the request may be retried. */
export class DbUnavailableError extends DbError {
  constructor(message: string, cause?: unknown) {
    super(message, cause);
    this.name = "DbUnavailableError";
  }
}

/** A statement did not compile or run (bad SQL, e.g. an invalid view query). The message is safe to log only. */
export class DbStatementError extends DbError {
  constructor(message: string, cause?: unknown) {
    super(message, cause);
    this.name = "DbStatementError";
  }
}

/** A statement ran past the time limit of a bounded read ({@link Queryable.bounded}) and was stopped. */
export class DbTimeoutError extends DbError {
  constructor(
    readonly timeoutMs: number,
    cause?: unknown,
  ) {
    super(`statement stopped after ${timeoutMs} ms`, cause);
    this.name = "DbTimeoutError";
  }
}
