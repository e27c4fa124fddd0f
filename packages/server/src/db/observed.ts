import type { Database, Queryable, RunResult, SqlValue } from "./dialect.js";

/**
 * Told before each statement runs; the function it returns, if any, is called when the statement ends, with
 * the error if it failed. Used for query metrics and tracing spans; the SQL text carries placeholders only.
 */
export type QueryObserver = (sql: string) => ((error?: unknown) => void) | undefined;

function observe<T>(observer: QueryObserver, sql: string, run: () => Promise<T>): Promise<T> {
  const end = observer(sql);
  if (!end) return run();
  let p: Promise<T>;
  try {
    p = run();
  } catch (err) {
    end(err);
    throw err;
  }
  return p.then(
    (value) => {
      end();
      return value;
    },
    (err: unknown) => {
      end(err);
      throw err;
    },
  );
}

class ObservedQueryable implements Queryable {
  constructor(
    protected readonly inner: Queryable,
    protected readonly observer: QueryObserver,
  ) {}

  get dialect() {
    return this.inner.dialect;
  }

  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return observe(this.observer, sql, () => this.inner.all<T>(sql, params));
  }

  get<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return observe(this.observer, sql, () => this.inner.get<T>(sql, params));
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return observe(this.observer, sql, () => this.inner.run(sql, params));
  }

  exec(sql: string): Promise<void> {
    return observe(this.observer, sql, () => this.inner.exec(sql));
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.inner.transaction((tx) => fn(new ObservedQueryable(tx, this.observer)));
  }

  tableColumns(table: string) {
    return this.inner.tableColumns(table);
  }

  tableExists(table: string) {
    return this.inner.tableExists(table);
  }

  describeQuery(sql: string) {
    return this.inner.describeQuery(sql);
  }

  bounded(timeoutMs: number): Queryable {
    return new ObservedQueryable(this.inner.bounded(timeoutMs), this.observer);
  }

  commitWithNext(): boolean {
    return this.inner.commitWithNext?.() ?? false;
  }
}

class ObservedDatabase extends ObservedQueryable implements Database {
  constructor(
    private readonly db: Database,
    observer: QueryObserver,
  ) {
    super(db, observer);
  }

  close() {
    return this.db.close();
  }

  ping() {
    return this.db.ping();
  }

  lockedTransaction<T>(name: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.lockedTransaction(name, (tx) => fn(new ObservedQueryable(tx, this.observer)));
  }
}

/** The observed database, with the inner store's optional copy and snapshot capabilities passed through. */
function withCapabilities(observed: ObservedDatabase, db: Database, observer: QueryObserver): Database {
  const out = observed as Database & { copyTo?: Database["copyTo"]; readSnapshot?: Database["readSnapshot"] };
  if (db.copyTo) out.copyTo = (file) => db.copyTo!(file);
  if (db.readSnapshot)
    out.readSnapshot = (fn) => db.readSnapshot!((tx) => fn(new ObservedQueryable(tx, observer)));
  return out;
}

/** The database with every statement (in transactions too) reported to an observer. */
export function observeDatabase(db: Database, observer: QueryObserver): Database {
  return withCapabilities(new ObservedDatabase(db, observer), db, observer);
}

/** The kind of a statement for metrics: `select`, `insert`, `update`, `delete` or `other`. */
export function statementKind(sql: string): "select" | "insert" | "update" | "delete" | "other" {
  let i = 0;
  while (i < sql.length && sql.charCodeAt(i) <= 32) i++;
  const word = sql.slice(i, i + 6).toLowerCase();
  if (word === "select" || word.startsWith("with")) return "select";
  if (word === "insert" || word === "update" || word === "delete") return word;
  return "other";
}
