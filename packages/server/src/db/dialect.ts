/** A value that can be bound to a SQL placeholder. */
export type SqlValue = string | number | bigint | boolean | null | Buffer;

/** The static types a compiled expression or bound parameter can have. */
export type ScalarType = "text" | "number" | "bool" | "json";

/** A SQL fragment with its bound parameters. Basalt writes placeholders as `?`; the driver adapts them. */
export interface Sql {
  readonly sql: string;
  readonly params: readonly SqlValue[];
}

/** The storage classes a column can have; each dialect spells them in its own SQL. */
export type ColumnKind =
  /** the primary key: text, not null */
  | "id"
  /** text, not null, default '' */
  | "text"
  /** text that may be null (default null) */
  | "nullableText"
  /** a number, not null, default 0 */
  | "number"
  /** a boolean, not null, default false */
  | "bool"
  /** JSON that may be null (default null) */
  | "json"
  /** a JSON array, not null, default '[]' */
  | "jsonArray"
  /** a JSON object `{lon, lat}`, not null */
  | "geoPoint";

/** The type a value of a column kind has when bound as a parameter (e.g. in a one-row CTE). */
export function scalarTypeOf(kind: ColumnKind): ScalarType {
  if (kind === "number" || kind === "bool") return kind;
  if (kind === "json" || kind === "jsonArray" || kind === "geoPoint") return "json";
  return "text";
}

/** A column of a table as the schema sync sees it. `key` is stable across renames (the field id). */
export interface ColumnSpec {
  readonly key: string;
  readonly name: string;
  readonly kind: ColumnKind;
}

/** An index on a table: columns with optional direction and collation. */
export interface IndexSpec {
  readonly name: string;
  readonly unique: boolean;
  readonly columns: readonly {
    readonly name: string;
    readonly collate?: "nocase";
    readonly desc?: boolean;
  }[];
  /** A partial index condition, already rendered as SQL for this dialect (identifiers quoted, literals inline). */
  readonly where?: string;
}

/** A table as the schema sync sees it. */
export interface TableSpec {
  readonly name: string;
  readonly columns: readonly ColumnSpec[];
  readonly indexes: readonly IndexSpec[];
}

/** A column as introspected from the live database. */
export interface ColumnInfo {
  readonly name: string;
  readonly type: string;
  readonly notNull: boolean;
  readonly primaryKey: boolean;
}

/** A full-text index over some text columns of a table (issue 18); `name` is stable across table renames. */
export interface SearchIndexSpec {
  /** The index's own name (SQLite: the FTS5 table and its triggers' prefix; PostgreSQL: the GIN index). */
  readonly name: string;
  readonly table: string;
  /** The indexed text columns, all weighing the same. */
  readonly columns: readonly string[];
}

/**
 * A parsed search: plain words (runs of letters and digits, never operators) all of which must match; the
 * last one also matches as a prefix when `prefixLast` is set.
 */
export interface SearchTerms {
  readonly words: readonly string[];
  readonly prefixLast: boolean;
}

/** What a search adds to a records query: an optional join, a condition and a relevance ORDER BY term. */
export interface SearchClause {
  readonly join: Sql | null;
  readonly where: Sql;
  /** One ORDER BY term (with its direction) putting the most relevant rows first. */
  readonly rank: Sql;
}

/** The full-text index and query spelling of an engine (SQLite FTS5 with bm25, PostgreSQL tsvector + GIN). */
export interface SearchDialect {
  /**
   * Statements creating the index and filling it from the rows already in the table; afterwards every
   * write to the table updates it inside the writing transaction.
   */
  createIndex(spec: SearchIndexSpec): string[];
  /** Statements removing the index (nothing happens when it does not exist). */
  dropIndex(spec: SearchIndexSpec): string[];
  /** The clause matching `terms` against the index, for a query where the table is aliased `alias`. */
  match(spec: SearchIndexSpec, alias: string, terms: SearchTerms): SearchClause;
}

/**
 * Everything that differs between SQL engines: spelling, quoting, placeholders, JSON functions, types and
 * capabilities. The rest of Basalt builds SQL only through this interface and never tests a dialect's name.
 */
export interface Dialect {
  /** A short name for logs and test titles only. */
  readonly name: string;
  /** Quotes an identifier (table, column, alias); doubles embedded quote characters. */
  quoteIdent(identifier: string): string;
  /** Rewrites Basalt's `?` placeholders into the driver's form (`$1…` on PostgreSQL); identity on SQLite. */
  formatPlaceholders(sql: string): string;
  /** The SQL column definition for a column kind, including NOT NULL and DEFAULT. */
  columnDefinition(kind: ColumnKind): string;
  /** The DEFAULT literal a kind uses (for back-filling existing rows). */
  columnDefault(kind: ColumnKind): string;
  /** `CREATE [UNIQUE] INDEX` text for an index on a table. */
  createIndex(table: string, index: IndexSpec): string;
  /** `DROP INDEX` text. */
  dropIndex(table: string, indexName: string): string;
  /**
   * An expression converting a column's value from one kind to another (e.g. a single value into a one-element
   * JSON array), or null when that change is not supported.
   */
  convertColumn(expr: string, from: ColumnKind, to: ColumnKind): string | null;

  /** Extracts a JSON value at a path (keys and array indexes) from a JSON column/expression, as SQL. */
  jsonExtract(expr: string, path: readonly (string | number)[]): string;
  /** Extracts a JSON value at a path as text (unquoted strings, raw numbers), as SQL. */
  jsonExtractText(expr: string, path: readonly (string | number)[]): string;
  /** The length of a JSON array expression (0 for null/empty/non-array). */
  jsonArrayLength(expr: string): string;
  /**
   * A table-valued FROM/JOIN source yielding one row per element of a JSON array expression (a non-array
   * value counts as a one-element array), aliased `alias`. Used for `:each`, multi-relation joins and `?=`.
   */
  jsonEach(expr: string, alias: string): string;
  /** The element's value (as text for strings, raw for numbers) of a `jsonEach` source. */
  jsonEachValue(alias: string): string;
  /** True when expr holds a JSON array (used to treat legacy/plain values uniformly). */
  jsonIsArray(expr: string): string;
  /** Case-insensitive-ASCII LIKE with `\` as the escape character: `expr LIKE pattern`. */
  like(expr: string, pattern: string, negate: boolean): string;
  /** ASCII lower-casing of a text expression. */
  lower(expr: string): string;
  /**
   * `column = param` compared ignoring case exactly as a `COLLATE NOCASE` index on that column is built
   * (SQLite: the NOCASE collation; PostgreSQL: the index on `lower(column)`), so the look-up seeks that index
   * instead of scanning the table (issue 10). `param` is a placeholder or expression.
   */
  equalsNoCase(column: string, param: string): string;
  /** Casts an expression to a number for numeric comparison. */
  castNumber(expr: string): string;
  /** Casts an expression to text. */
  castText(expr: string): string;
  /** The expression sorting rows in random order. */
  randomOrder(): string;
  /** The expression for insertion order (`@rowid`). */
  rowOrder(tableAlias: string): string;
  /** `strftime(format, time, modifiers…)` with SQLite's semantics. */
  strftime(format: string, time: string, modifiers: readonly string[]): string;
  /** Great-circle distance in km between two lon/lat pairs (geoDistance). */
  geoDistance(lonA: string, latA: string, lonB: string, latB: string): string;
  /** A boolean literal. */
  boolLiteral(value: boolean): string;
  /**
   * A condition (with its leading ` AND `) appended to the ON clause of every join a filter adds, so a
   * bounded read ({@link Queryable.bounded}) can stop a runaway join; empty when the engine enforces the
   * time limit itself (PostgreSQL's statement_timeout).
   */
  readonly joinCheck: string;
  /**
   * A `?` placeholder annotated with the value type it carries, so engines that type parameters statically
   * (PostgreSQL) never have to guess; SQLite returns a bare `?`.
   */
  typedParam(type: ScalarType): string;
  /**
   * Extracts a JSON value at a path for comparison with a value of `as` type: `value` keeps the engine's
   * native JSON value (JSON null reads as SQL NULL), `text` reads any scalar as text, `number`/`bool` yield
   * NULL when the stored JSON value is of another type.
   */
  jsonExtractAs(
    expr: string,
    path: readonly (string | number)[],
    as: "value" | "text" | "number" | "bool",
  ): string;
  /** Converts a text expression to a number, NULL when it does not look like one (never an error). */
  textToNumber(expr: string): string;
  /** Converts a boolean expression to the number 1 or 0. */
  boolToNumber(expr: string): string;
  /** Null-safe equality (`IS` / `IS NOT DISTINCT FROM`), negated when asked. */
  nullSafeEq(left: string, right: string, negate: boolean): string;
  /** Makes a text expression compare and sort by bytes (identity where that is already the default). */
  collateBinary(expr: string): string;
  /** One ORDER BY term, with NULLs sorting first ascending and last descending on every engine. */
  orderTerm(expr: string, desc: boolean): string;
  /** The compact JSON text (`["a","b"]`) of a stored JSON array column, as written by Basalt. */
  jsonArrayText(expr: string): string;
  /** Translates a strftime format into the value `strftime()` binds on this engine, or null if unsupported. */
  strftimeFormat(format: string): string | null;
  /** Translates one strftime modifier (e.g. `+1 day`) into the bound value, or null if unsupported. */
  strftimeModifier(modifier: string): string | null;
  /**
   * Adapts a bound value to what the engine can carry; PostgreSQL text cannot hold U+0000, so it becomes
   * U+FFFD (such a value can never equal stored text anyway). Drivers should apply it to every parameter.
   */
  bindValue(value: SqlValue): SqlValue;
  /** Full-text search indexes and queries (issue 18). */
  readonly search: SearchDialect;
  /** True when `INSERT … RETURNING` is supported. */
  readonly supportsReturning: boolean;
  /**
   * The row-locking clause ending a SELECT that picks work for one worker among several (job claims): rows
   * another transaction holds are skipped. Empty where the claiming transaction already holds the database's
   * write lock (SQLite's `BEGIN IMMEDIATE`), so no other writer can pick the same rows.
   */
  readonly skipLockedClause: string;
}

/** What a write statement reports. */
export interface RunResult {
  readonly changes: number;
}

/** Something SQL can be run on: the database itself or an open transaction. */
export interface Queryable {
  readonly dialect: Dialect;
  /** All rows of a query. */
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The first row of a query, or undefined. */
  get<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs a write statement. */
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
  /** Runs one or more statements without parameters (DDL). */
  exec(sql: string): Promise<void>;
  /**
   * Runs fn in a transaction (a savepoint when already inside one). Commits when fn resolves, rolls back
   * when it throws. Do slow non-database work (hashing, network) before opening the transaction.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Columns of a table (or view) as the database reports them; empty when it does not exist. */
  tableColumns(table: string): Promise<ColumnInfo[]>;
  /** True when a table or view of that name exists. */
  tableExists(table: string): Promise<boolean>;
  /** Names of the columns a SELECT returns, with their source table and column when known. */
  describeQuery(sql: string): Promise<{ name: string; table: string | null; column: string | null }[]>;
  /**
   * The same queryable whose `all` and `get` stop a statement that runs longer than `timeoutMs` with a
   * DbTimeoutError (client-driven reads: lists, views, expands, rule checks). Other calls are unchanged.
   */
  bounded(timeoutMs: number): Queryable;
  /**
   * On the queryable a top-level transaction hands its function, where the store allows it (SQLite): lets
   * the transaction's next statement commit on its own, granted (true) only when no statement has run in
   * the transaction yet. For a write that is the transaction's last statement and after which nothing can
   * fail: it then costs what the same statement costs outside a transaction.
   */
  commitWithNext?(): boolean;
}

/** An open database: a Queryable plus its lifecycle. */
export interface Database extends Queryable {
  /** Closes every connection; further calls fail. */
  close(): Promise<void>;
  /** Checks the database answers (for health and start-up). */
  ping(): Promise<void>;
  /**
   * Runs fn in a transaction that also holds a database-wide lock named `name` until it ends, so several
   * processes sharing the database (e.g. instances starting at once) run it one after another.
   */
  lockedTransaction<T>(name: string, fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Writes a consistent copy of the whole database to a new file while writes go on (SQLite's online copy,
   * `VACUUM INTO` on a connection of its own in a worker thread); absent where the store is not a file.
   */
  copyTo?(file: string): Promise<void>;
  /**
   * Runs fn in a read-only transaction that sees one snapshot of the committed data however long it runs
   * (PostgreSQL's REPEATABLE READ); absent where `copyTo` is the way to a consistent copy.
   */
  readSnapshot?<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
}
