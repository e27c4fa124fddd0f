import { AsyncLocalStorage } from "node:async_hooks";
import type pg from "pg";
import { lazyImport } from "../../util/index.js";
import type { ColumnInfo, Database, Queryable, RunResult, SqlValue } from "../dialect.js";
import { DbTimeoutError, DbUnavailableError } from "../errors.js";
import { postgresDialect } from "./dialect.js";
import { translatePostgresError } from "./errors.js";
import { pgDescribeQuery, pgTableColumns, pgTableExists, type RawQuery } from "./introspect.js";

/** Options for connecting to PostgreSQL. */
export interface PostgresOptions {
  /** Most connections the pool opens (default 10). */
  maxConnections?: number;
  /** A statement running longer than this is cancelled by the server (default 30 s). */
  statementTimeoutMs?: number;
  /** How long to wait for a connection, from the server or the pool (default 10 s). */
  connectTimeoutMs?: number;
  /** Told about errors of idle pooled connections (the pool drops them and reconnects on demand). */
  onIdleError?: (err: Error) => void;
}

type Target = pg.Pool | pg.PoolClient;

/** The node-postgres module, default export. */
export type PgModule = typeof pg;

// node-postgres is loaded only when a PostgreSQL URL is given, not at start-up (issue 19: memory)
const loadPg = lazyImport("pg", "PostgreSQL", () => import("pg"));

// Values come back as SQLite's driver gives them: JSON and dates as their text, counts as numbers.
const RAW_TEXT_TYPES = new Set([114, 3802, 1082, 1114, 1184, 1083, 1266]);
function typesOf(driver: PgModule): pg.CustomTypesConfig {
  return {
    getTypeParser: ((oid: number, format?: "text" | "binary") => {
      if (format !== "binary") {
        if (RAW_TEXT_TYPES.has(oid)) return (value: string) => value;
        if (oid === 20 || oid === 1700) return (value: string) => Number(value);
      }
      return driver.types.getTypeParser(oid, format as "text");
    }) as pg.CustomTypesConfig["getTypeParser"],
  };
}

/** A 32-bit FNV-1a hash: a stable advisory lock key for a lock name. */
function lockKey(name: string): number {
  let h = 0x811c9dc5;
  for (const ch of `basalt:${name}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h | 0;
}

/** Runs statements on the pool (one statement per pooled connection) or on a transaction's own client. */
class Runner implements Queryable {
  readonly dialect = postgresDialect;
  constructor(
    private readonly owner: PostgresDatabase,
    private readonly target: Target,
    private readonly depth: number,
  ) {}

  private async query(sql: string, params?: readonly SqlValue[]) {
    try {
      return await this.target.query({
        text: postgresDialect.formatPlaceholders(sql),
        values: params?.map((p) => postgresDialect.bindValue(p)) ?? [],
      });
    } catch (err) {
      throw translatePostgresError(err);
    }
  }

  readonly raw: RawQuery = async (sql, params) => {
    const res = await this.query(sql, params);
    return { rows: res.rows as Record<string, unknown>[], fields: res.fields };
  };

  async all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return (await this.query(sql, params)).rows as T[];
  }

  async get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return (await this.query(sql, params)).rows[0] as T | undefined;
  }

  async run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return { changes: (await this.query(sql, params)).rowCount ?? 0 };
  }

  async exec(sql: string): Promise<void> {
    try {
      // no parameters: the simple protocol, which accepts several statements
      await this.target.query(sql);
    } catch (err) {
      throw translatePostgresError(err);
    }
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    if (this.depth === 0) return this.owner.transaction(fn);
    const name = `sp${this.depth}`;
    const tx = new Runner(this.owner, this.target, this.depth + 1);
    await this.exec(`SAVEPOINT ${name}`);
    try {
      const result = await this.owner.inTx.run(tx, () => fn(tx));
      await this.exec(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (err) {
      await this.exec(`ROLLBACK TO SAVEPOINT ${name}; RELEASE SAVEPOINT ${name}`);
      throw err;
    }
  }

  tableColumns(table: string): Promise<ColumnInfo[]> {
    return pgTableColumns(this.raw, table);
  }

  tableExists(table: string): Promise<boolean> {
    return pgTableExists(this.raw, table);
  }

  bounded(timeoutMs: number): Queryable {
    return new BoundedRunner(this.owner, this.depth > 0 ? this : null, timeoutMs);
  }

  describeQuery(sql: string) {
    // In a savepoint (or a transaction of its own): a failing user query must not abort the caller's transaction.
    return this.transaction((tx) => pgDescribeQuery((tx as Runner).raw, sql));
  }
}

/** True for PostgreSQL's "canceling statement due to statement timeout" (57014). */
function isStatementTimeout(err: unknown): boolean {
  return err instanceof DbUnavailableError && (err.cause as { code?: unknown } | undefined)?.code === "57014";
}

/**
 * Reads with a time limit: outside a transaction on a pool whose connections carry that statement_timeout
 * (no extra round trip); inside one, `SET LOCAL statement_timeout` around the statement.
 */
class BoundedRunner implements Queryable {
  readonly dialect = postgresDialect;
  constructor(
    private readonly owner: PostgresDatabase,
    private readonly tx: Runner | null,
    private readonly timeoutMs: number,
  ) {}

  private async read<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    const tx = this.tx ?? this.owner.inTx.getStore();
    try {
      if (!tx) return await fn(this.owner.boundedPool(this.timeoutMs));
      await tx.exec(`SET LOCAL statement_timeout = ${Math.floor(this.timeoutMs)}`);
      try {
        return await fn(tx);
      } finally {
        // after a failed statement the transaction is aborted and this fails too: the first error counts
        await tx
          .exec(`SET LOCAL statement_timeout = ${this.owner.statementTimeoutMs}`)
          .catch(() => undefined);
      }
    } catch (err) {
      if (isStatementTimeout(err)) throw new DbTimeoutError(this.timeoutMs, err);
      throw err;
    }
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.read((q) => q.all<T>(sql, params));
  }

  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.read((q) => q.get<T>(sql, params));
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return (this.tx ?? this.owner).run(sql, params);
  }

  exec(sql: string): Promise<void> {
    return (this.tx ?? this.owner).exec(sql);
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return (this.tx ?? this.owner).transaction(fn);
  }

  tableColumns(table: string): Promise<ColumnInfo[]> {
    return (this.tx ?? this.owner).tableColumns(table);
  }

  tableExists(table: string): Promise<boolean> {
    return (this.tx ?? this.owner).tableExists(table);
  }

  describeQuery(sql: string) {
    return (this.tx ?? this.owner).describeQuery(sql);
  }

  bounded(timeoutMs: number): Queryable {
    return new BoundedRunner(this.owner, this.tx, timeoutMs);
  }
}

/**
 * PostgreSQL on node-postgres: a bounded pool for plain statements; each transaction takes a dedicated
 * client, nested transactions become savepoints, and an AsyncLocalStorage routes every call made inside a
 * transaction to its client. Commits are durable with the server's default `synchronous_commit=on`.
 */
export class PostgresDatabase implements Database {
  readonly dialect = postgresDialect;
  /** The transaction runner of the current async context, if any. */
  readonly inTx = new AsyncLocalStorage<Runner>();
  private readonly pool: pg.Pool;
  private readonly poolRunner: Runner;
  /** Pools whose connections carry a shorter statement_timeout, per timeout, for bounded reads. */
  private readonly boundedPools = new Map<number, { pool: pg.Pool; runner: Runner }>();
  /** The statement timeout of ordinary statements, in ms. */
  readonly statementTimeoutMs: number;
  private readonly types: pg.CustomTypesConfig;

  /** `driver` is node-postgres (`openPostgres` loads it). */
  constructor(
    private readonly driver: PgModule,
    private readonly url: string,
    private readonly options: PostgresOptions = {},
  ) {
    this.statementTimeoutMs = Math.floor(options.statementTimeoutMs ?? 30_000);
    this.types = typesOf(driver);
    this.pool = this.newPool(this.statementTimeoutMs);
    this.poolRunner = new Runner(this, this.pool, 0);
  }

  private newPool(statementTimeoutMs: number): pg.Pool {
    const pool = new this.driver.Pool({
      connectionString: this.url,
      max: this.options.maxConnections ?? 10,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: statementTimeoutMs,
      idle_in_transaction_session_timeout: 5 * 60_000,
      application_name: "basalt",
      types: this.types,
    });
    pool.on("error", (err) => this.options.onIdleError?.(err));
    return pool;
  }

  /** The runner of the pool for reads bounded by `timeoutMs` (opened on first use). */
  boundedPool(timeoutMs: number): Queryable {
    const ms = Math.floor(timeoutMs);
    if (ms >= this.statementTimeoutMs) return this.poolRunner;
    let entry = this.boundedPools.get(ms);
    if (!entry) {
      const pool = this.newPool(ms);
      entry = { pool, runner: new Runner(this, pool, 0) };
      this.boundedPools.set(ms, entry);
    }
    return entry.runner;
  }

  bounded(timeoutMs: number): Queryable {
    return new BoundedRunner(this, null, timeoutMs);
  }

  private current(): Queryable {
    return this.inTx.getStore() ?? this.poolRunner;
  }

  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.current().all<T>(sql, params);
  }

  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.current().get<T>(sql, params);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult> {
    return this.current().run(sql, params);
  }

  exec(sql: string): Promise<void> {
    return this.current().exec(sql);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const outer = this.inTx.getStore();
    if (outer) return outer.transaction(fn);
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw translatePostgresError(err);
    }
    let broken: Error | undefined;
    // a checked-out client has no pool listener: a connection dropped between statements (server restart,
    // terminated backend) must fail this transaction, not crash the process with an unhandled 'error'
    const onError = (err: Error) => {
      broken = err;
      this.options.onIdleError?.(err);
    };
    client.on("error", onError);
    const runner = new Runner(this, client, 1);
    try {
      await runner.exec("BEGIN");
      const result = await this.inTx.run(runner, () => fn(runner));
      await runner.exec("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch((e: Error) => {
        broken = e;
      });
      throw err;
    } finally {
      // a client whose rollback failed is in an unknown state: the pool discards it
      client.removeListener("error", onError);
      client.release(broken);
    }
  }

  /** A transaction of its own in REPEATABLE READ, READ ONLY: every statement sees the data as of its first. */
  readSnapshot<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    if (this.inTx.getStore()) throw new Error("a snapshot cannot be nested in another transaction");
    return this.transaction(async (tx) => {
      await tx.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      return fn(tx);
    });
  }

  lockedTransaction<T>(name: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.transaction(async (tx) => {
      await tx.get("SELECT pg_advisory_xact_lock(CAST(? AS BIGINT))", [lockKey(name)]);
      return fn(tx);
    });
  }

  tableColumns(table: string): Promise<ColumnInfo[]> {
    return this.current().tableColumns(table);
  }

  tableExists(table: string): Promise<boolean> {
    return this.current().tableExists(table);
  }

  describeQuery(sql: string) {
    return this.current().describeQuery(sql);
  }

  async ping(): Promise<void> {
    await this.current().get("SELECT 1");
  }

  /** Waits for checked-out clients to be released, then closes every connection; further calls fail. */
  async close(): Promise<void> {
    const bounded = [...this.boundedPools.values()].map((b) => b.pool);
    this.boundedPools.clear();
    await Promise.all(bounded.map((p) => (p.ended ? undefined : p.end())));
    if (this.pool.ended) return;
    await this.pool.end();
  }
}

/** Connects to PostgreSQL (a `postgres://` URL) and checks that it answers. */
export async function openPostgres(url: string, options?: PostgresOptions): Promise<PostgresDatabase> {
  const db = new PostgresDatabase((await loadPg()).default, url, options);
  try {
    await db.ping();
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}
