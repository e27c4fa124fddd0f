import { AsyncLocalStorage } from "node:async_hooks";
import { availableParallelism } from "node:os";
import BetterSqlite3 from "better-sqlite3";
import { Mutex } from "../../util/index.js";
import type { ColumnInfo, Database, Queryable, RunResult, SqlValue } from "../dialect.js";
import { DbCorruptError, DbError, DbTimeoutError } from "../errors.js";
import { sqliteDialect } from "./dialect.js";
import { translateSqliteError } from "./errors.js";
import { SqliteReadPool } from "./read-pool.js";
import { copySqliteFile } from "./snapshot.js";

type Conn = BetterSqlite3.Database;
type Stmt = BetterSqlite3.Statement;

/** Options for opening a SQLite database file. */
export interface SqliteOptions {
  /** `NORMAL` (default) survives a process crash; `FULL` also survives power loss. */
  synchronous?: "NORMAL" | "FULL";
  /** Milliseconds a connection waits on a lock before failing. */
  busyTimeoutMs?: number;
  /** Open read-only (no writer connection). */
  readonly?: boolean;
  /**
   * Milliseconds a client-driven read ({@link Queryable.bounded}, outside a transaction) may run on the main
   * thread before it is stopped and run again in a reader thread (default 15).
   */
  offloadAfterMs?: number;
  /** Reader threads for such reads (default: the cores this process may use, less one, at least 1); 0: none. */
  readThreads?: number;
}

/** Default milliseconds a client-driven read runs on the main thread before it moves to a reader thread. */
export const DEFAULT_OFFLOAD_AFTER_MS = 15;

/**
 * The offload time of a read whose SQL text already had to move recently: such a statement is likely
 * expensive again (an attacker repeating it), so it holds the event loop for less before it moves, while a
 * cheap run of the same text still finishes where it started.
 */
const REPEAT_OFFLOAD_MS = 2;
/** SQL texts remembered as having moved to a reader thread (least recently moved forgotten first). */
const MAX_SLOW_READS = 256;

/** Default reader threads: every core but the one the event loop runs on, at least one. */
export function defaultReadThreads(): number {
  return Math.max(1, availableParallelism() - 1);
}

const MAX_CACHED_STATEMENTS = 500;

/** A per-connection prepared-statement cache keyed by SQL text, bounded (least recently used goes first). */
class StatementCache {
  private readonly map = new Map<string, Stmt>();
  constructor(private readonly conn: Conn) {}

  get(sql: string): Stmt {
    let stmt = this.map.get(sql);
    if (stmt) {
      this.map.delete(sql);
      this.map.set(sql, stmt);
      return stmt;
    }
    stmt = this.conn.prepare(sql);
    this.map.set(sql, stmt);
    if (this.map.size > MAX_CACHED_STATEMENTS) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
    }
    return stmt;
  }

  clear(): void {
    this.map.clear();
  }
}

function bind(params: readonly SqlValue[] | undefined): unknown[] {
  if (!params || params.length === 0) return [];
  return params.map((p) => (p === true ? 1 : p === false ? 0 : p));
}

function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw translateSqliteError(err);
  }
}

/** Runs a synchronous driver call as a promise: errors reject, they never throw at the call site. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(wrap(fn));
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * The deadline of the bounded statement running now, and when it moves to a reader thread. better-sqlite3
 * runs one statement at a time on this thread, so one process-wide value serves every connection.
 */
const clock = {
  deadline: Number.POSITIVE_INFINITY,
  offloadAt: Number.POSITIVE_INFINITY,
  timeoutMs: 0,
  calls: 0,
};

/** Thrown by `basalt_tick()` to stop a read that is to go on in a reader thread; never leaves this file. */
const OFFLOAD = new Error("basalt: the read moves to a reader thread");

/**
 * `basalt_tick()`: true, until a bounded statement has run past its deadline; then it throws and the
 * statement aborts (issue 10: a six-hop back-relation filter ran 29 s with every request waiting). Filters
 * put it in each join's ON clause, so it runs for every row combination a join produces. A read that may
 * move to a reader thread is stopped earlier, at its offload time.
 */
function tick(): number {
  // reading the clock every call would cost more than the check is worth
  if ((++clock.calls & 255) === 0) {
    const now = performance.now();
    if (now > clock.offloadAt) throw OFFLOAD;
    if (now > clock.deadline) throw new DbTimeoutError(clock.timeoutMs);
  }
  return 1;
}

/** Runs one synchronous statement with a deadline (and an offload time), both `performance.now()` times. */
function withClock<T>(deadline: number, offloadAt: number, timeoutMs: number, fn: () => T): T {
  clock.deadline = deadline;
  clock.offloadAt = offloadAt;
  clock.timeoutMs = timeoutMs;
  try {
    return fn();
  } finally {
    clock.deadline = Number.POSITIVE_INFINITY;
    clock.offloadAt = Number.POSITIVE_INFINITY;
  }
}

/** Runs one synchronous statement with a deadline. */
function withDeadline<T>(timeoutMs: number, fn: () => T): T {
  return withClock(performance.now() + timeoutMs, Number.POSITIVE_INFINITY, timeoutMs, fn);
}

/**
 * A queryable whose reads run with a deadline (the statement runs synchronously inside the call). Bounded
 * reads of the database itself (`db`) may move to a reader thread; those of a transaction never do.
 */
class BoundedRunner implements Queryable {
  readonly dialect = sqliteDialect;
  constructor(
    private readonly inner: Queryable,
    private readonly timeoutMs: number,
    private readonly db: SqliteDatabase | null = null,
  ) {}

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    if (this.db) return this.db.boundedRead("all", sql, params, this.timeoutMs) as Promise<T[]>;
    return withDeadline(this.timeoutMs, () => this.inner.all<T>(sql, params));
  }

  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    if (this.db) return this.db.boundedRead("get", sql, params, this.timeoutMs) as Promise<T | undefined>;
    return withDeadline(this.timeoutMs, () => this.inner.get<T>(sql, params));
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return this.inner.run(sql, params);
  }

  exec(sql: string): Promise<void> {
    return this.inner.exec(sql);
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.inner.transaction(fn);
  }

  tableColumns(table: string): Promise<ColumnInfo[]> {
    return this.inner.tableColumns(table);
  }

  tableExists(table: string): Promise<boolean> {
    return this.inner.tableExists(table);
  }

  describeQuery(sql: string) {
    return this.inner.describeQuery(sql);
  }

  bounded(timeoutMs: number): Queryable {
    return new BoundedRunner(this.inner, timeoutMs, this.db);
  }
}

function openConnection(file: string, options: SqliteOptions, readonly: boolean): Conn {
  const conn = new BetterSqlite3(file, { readonly, fileMustExist: readonly });
  conn.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
  if (!readonly) {
    conn.pragma("journal_mode = WAL");
    conn.pragma("journal_size_limit = 67108864");
  }
  conn.pragma(`synchronous = ${options.synchronous ?? "NORMAL"}`);
  conn.pragma("foreign_keys = ON");
  conn.pragma("temp_store = MEMORY");
  conn.pragma("cache_size = -16000");
  conn.function("basalt_tick", { deterministic: false }, tick);
  return conn;
}

/**
 * Runs statements on one connection. Inside a transaction every call runs on the writer; `depth` counts
 * savepoints so nested `transaction()` calls become SAVEPOINTs. A top-level transaction's runner is made
 * with its `BEGIN` still to run: the first statement runs it (see {@link SqliteDatabase.transaction}).
 */
class Runner implements Queryable {
  readonly dialect = sqliteDialect;
  constructor(
    protected readonly owner: SqliteDatabase,
    protected readonly conn: Conn,
    protected readonly cache: StatementCache,
    private readonly depth: number,
    private begin: string | null = null,
  ) {}

  /** Whether this runner's transaction has begun (always, for a runner made without a `BEGIN` to run). */
  get begun(): boolean {
    return this.begin === null;
  }

  /** Set by {@link commitWithNext}: the next statement runs without the pending `BEGIN`. */
  private alone = false;

  /** Set when the transaction (or savepoint) this runner belongs to has ended. */
  ended = false;

  /** Runs the pending `BEGIN`, if any: every statement calls this first. */
  private open(): void {
    // work a hook chain left behind after its transaction ended (a handler that threw without awaiting
    // its `e.next()`) must not run outside it, nor open a transaction nobody will end
    if (this.ended) throw new DbError("the transaction this statement belongs to has already ended");
    if (this.begin === null) return;
    if (this.alone) {
      // this one statement commits on its own; a later one (none is expected) would begin anew
      this.alone = false;
      return;
    }
    this.conn.exec(this.begin);
    this.begin = null;
  }

  commitWithNext(): boolean {
    if (this.begin === null) return false;
    this.alone = true;
    return true;
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return settle(() => {
      this.open();
      const stmt = this.cache.get(sql);
      if (!stmt.reader) {
        stmt.run(...bind(params));
        return [] as T[];
      }
      return stmt.all(...bind(params)) as T[];
    });
  }

  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return settle(() => {
      this.open();
      return this.cache.get(sql).get(...bind(params)) as T | undefined;
    });
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return settle(() => {
      this.open();
      return { changes: this.cache.get(sql).run(...bind(params)).changes };
    });
  }

  exec(sql: string): Promise<void> {
    // exec carries DDL: statements prepared on the reader may now describe old table shapes
    this.owner.schemaChanged = true;
    return settle(() => {
      this.open();
      this.conn.exec(sql);
    });
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const name = `sp${this.depth + 1}`;
    const tx = new Runner(this.owner, this.conn, this.cache, this.depth + 1);
    wrap(() => {
      this.open();
      this.conn.exec(`SAVEPOINT ${name}`);
    });
    try {
      const result = await this.owner.inTx.run(tx, () => fn(tx));
      wrap(() => this.conn.exec(`RELEASE ${name}`));
      return result;
    } catch (err) {
      this.conn.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
      throw err;
    } finally {
      tx.ended = true;
    }
  }

  tableColumns(table: string): Promise<ColumnInfo[]> {
    return settle(() => {
      this.open();
      return (
        this.conn.prepare('SELECT name, type, "notnull" AS nn, pk FROM pragma_table_info(?)').all(table) as {
          name: string;
          type: string;
          nn: number;
          pk: number;
        }[]
      ).map((c) => ({ name: c.name, type: c.type, notNull: c.nn === 1, primaryKey: c.pk > 0 }));
    });
  }

  tableExists(table: string): Promise<boolean> {
    return settle(() => {
      this.open();
      return (
        this.conn
          .prepare("SELECT 1 FROM sqlite_master WHERE type IN ('table','view') AND name = ? COLLATE NOCASE")
          .get(table) !== undefined
      );
    });
  }

  describeQuery(sql: string): Promise<{ name: string; table: string | null; column: string | null }[]> {
    return settle(() => {
      this.open();
      return this.conn
        .prepare(sql)
        .columns()
        .map((c) => ({ name: c.name, table: c.table, column: c.column }));
    });
  }

  bounded(timeoutMs: number): Queryable {
    return new BoundedRunner(this, timeoutMs);
  }
}

/**
 * SQLite on better-sqlite3: one writer connection (every write and transaction, serialised by a mutex) and
 * one reader connection for plain reads, so a transaction that awaits cannot expose uncommitted rows.
 * WAL mode with synchronous=NORMAL: an acknowledged write survives a process crash. Client-driven reads that
 * run long move to reader threads ({@link SqliteReadPool}) so they do not hold the event loop.
 */
export class SqliteDatabase implements Database {
  readonly dialect = sqliteDialect;
  /** The transaction runner of the current async context, if any. */
  readonly inTx = new AsyncLocalStorage<Runner>();
  private readonly writer: Conn;
  private readonly reader: Conn;
  private readonly writerCache: StatementCache;
  private readonly readerCache: StatementCache;
  private readonly writeLock = new Mutex();
  private readonly writerRunner: Runner;
  private readonly readerRunner: Runner;
  private readonly pool: SqliteReadPool | null;
  private readonly offloadAfterMs: number;
  /** SQL texts of reads that moved to a reader thread lately. */
  private readonly slowReads = new Set<string>();
  private closed = false;
  /** Set by DDL; the statement caches are dropped once the change is committed. */
  schemaChanged = false;

  constructor(
    readonly file: string,
    options: SqliteOptions = {},
  ) {
    try {
      this.writer = openConnection(file, options, false);
      // Touch the schema so a file that is not a database fails here, at open, not on the first request.
      this.writer.prepare("SELECT count(*) FROM sqlite_master").get();
      this.reader = openConnection(file, options, false);
    } catch (err) {
      const translated = translateSqliteError(err);
      if (translated instanceof DbCorruptError) throw translated;
      throw translated;
    }
    this.writerCache = new StatementCache(this.writer);
    this.readerCache = new StatementCache(this.reader);
    this.writerRunner = new Runner(this, this.writer, this.writerCache, 0);
    this.readerRunner = new Runner(this, this.reader, this.readerCache, 0);
    const threads = options.readThreads ?? defaultReadThreads();
    // an in-memory database is private to its connection: no other thread can read it
    const inMemory = file === "" || file === ":memory:" || file.startsWith("file::memory:");
    this.pool =
      threads > 0 && !inMemory
        ? new SqliteReadPool(file, { size: threads, busyTimeoutMs: options.busyTimeoutMs ?? 10_000 })
        : null;
    this.offloadAfterMs = options.offloadAfterMs ?? DEFAULT_OFFLOAD_AFTER_MS;
  }

  /** Reader threads started so far (they start when a read first runs past the offload time). */
  get readThreadsStarted(): number {
    return this.pool?.started ?? 0;
  }

  /**
   * A client-driven read with a time budget: on the reader connection (or the transaction of the current
   * context, which it never leaves), and when it runs past the offload time outside a transaction, stopped
   * and run again in a reader thread, the whole budget counting from the first start (issue 10).
   */
  boundedRead(op: "all" | "get", sql: string, params: readonly SqlValue[] | undefined, timeoutMs: number) {
    const tx = this.current();
    if (tx) return withDeadline(timeoutMs, () => (op === "all" ? tx.all(sql, params) : tx.get(sql, params)));
    const start = performance.now();
    const deadline = start + timeoutMs;
    let stmt: Stmt;
    try {
      stmt = wrap(() => this.readerCache.get(sql));
    } catch (err) {
      return Promise.reject(err);
    }
    const pool = stmt.reader ? this.pool : null;
    const after = this.slowReads.has(sql)
      ? Math.min(REPEAT_OFFLOAD_MS, this.offloadAfterMs)
      : this.offloadAfterMs;
    const offloadAt = pool ? start + after : Number.POSITIVE_INFINITY;
    const bound = bind(params);
    try {
      return Promise.resolve(
        withClock(deadline, offloadAt, timeoutMs, () =>
          wrap(() => {
            if (op === "get") return stmt.get(...bound);
            if (!stmt.reader) {
              stmt.run(...bound);
              return [];
            }
            return stmt.all(...bound);
          }),
        ),
      );
    } catch (err) {
      if (err !== OFFLOAD || !pool) return Promise.reject(err);
      this.slowReads.delete(sql);
      this.slowReads.add(sql);
      if (this.slowReads.size > MAX_SLOW_READS)
        this.slowReads.delete(this.slowReads.values().next().value as string);
      return pool.run(op, sql, bound, deadline, timeoutMs);
    }
  }

  private current(): Runner | undefined {
    return this.inTx.getStore();
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    const tx = this.current();
    if (tx) return tx.all<T>(sql, params);
    return this.readerRunner.all<T>(sql, params);
  }

  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    const tx = this.current();
    if (tx) return tx.get<T>(sql, params);
    return this.readerRunner.get<T>(sql, params);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    const tx = this.current();
    if (tx) return tx.run(sql, params);
    return this.writeLock.run(() => this.writerRunner.run(sql, params));
  }

  exec(sql: string): Promise<void> {
    const tx = this.current();
    if (tx) return tx.exec(sql);
    return this.writeLock.run(async () => {
      try {
        await this.writerRunner.exec(sql);
      } finally {
        this.afterSchemaChange();
      }
    });
  }

  private afterSchemaChange(): void {
    if (!this.schemaChanged) return;
    this.schemaChanged = false;
    this.readerCache.clear();
    this.writerCache.clear();
    if (this.pool) this.pool.generation++;
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const tx = this.current();
    if (tx) return tx.transaction(fn);
    return this.writeLock.run(async () => {
      // `BEGIN IMMEDIATE` runs with the transaction's first statement, not here: nothing was read before it,
      // so the transaction is the same, the write lock is taken only by a transaction that uses the
      // database, and the BEGIN runs beside that statement (a model hook chain between the two made the
      // BEGIN alone cost as much as the INSERT, its caches gone cold). One that runs no statement commits
      // nothing.
      const runner = new Runner(this, this.writer, this.writerCache, 0, "BEGIN IMMEDIATE");
      try {
        const result = await this.inTx.run(runner, () => fn(runner));
        if (runner.begun) wrap(() => this.writer.exec("COMMIT"));
        return result;
      } catch (err) {
        if (this.writer.inTransaction) this.writer.exec("ROLLBACK");
        throw err;
      } finally {
        runner.ended = true;
        this.afterSchemaChange();
      }
    });
  }

  /** SQLite's `BEGIN IMMEDIATE` already takes the database's write lock: one process at a time. */
  lockedTransaction<T>(_name: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.transaction(fn);
  }

  tableColumns(table: string): Promise<ColumnInfo[]> {
    return (this.current() ?? this.readerRunner).tableColumns(table);
  }

  tableExists(table: string): Promise<boolean> {
    return (this.current() ?? this.readerRunner).tableExists(table);
  }

  describeQuery(sql: string) {
    return (this.current() ?? this.writerRunner).describeQuery(sql);
  }

  bounded(timeoutMs: number): Queryable {
    return new BoundedRunner(this, timeoutMs, this);
  }

  ping(): Promise<void> {
    return settle(() => void this.reader.prepare("SELECT 1").get());
  }

  copyTo(target: string): Promise<void> {
    return copySqliteFile(this.file, target);
  }

  /** Checkpoints the WAL and closes both connections. Waits for the running write, if any. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return this.writeLock.run(async () => {
      await this.pool?.close();
      try {
        this.writer.pragma("wal_checkpoint(TRUNCATE)");
      } catch {
        // a checkpoint is an optimisation; closing still flushes what is needed
      }
      this.reader.close();
      this.writer.close();
    });
  }
}

/** Opens (creating if needed) a SQLite database file. */
export function openSqlite(file: string, options?: SqliteOptions): SqliteDatabase {
  return new SqliteDatabase(file, options);
}
