import type { Database } from "./dialect.js";
import { DbUnavailableError } from "./errors.js";
import { openPostgres } from "./postgres/driver.js";
import { openSqlite } from "./sqlite/driver.js";

/** Where the data lives and how to reach it. */
export interface OpenDatabaseOptions {
  /** A `postgres://` (or `postgresql://`) URL; empty means the SQLite file below. */
  url: string;
  /** The SQLite database file used when no URL is given. */
  sqliteFile: string;
  /** SQLite `synchronous` mode. */
  sqliteSynchronous?: "NORMAL" | "FULL";
  /** SQLite: ms a client-driven read runs on the main thread before it moves to a reader thread. */
  sqliteOffloadAfterMs?: number;
  /** SQLite: reader threads for such reads (default: cores less one, at least 1; 0: none). */
  sqliteReadThreads?: number;
  /** PostgreSQL pool size. */
  maxConnections?: number;
  /** PostgreSQL statement timeout in milliseconds. */
  statementTimeoutMs?: number;
  /** Told about errors of idle PostgreSQL connections. */
  onIdleError?: (err: Error) => void;
}

/** True when a database URL selects PostgreSQL. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url.trim());
}

/** Opens the store a URL names (PostgreSQL), or the SQLite file when there is none. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const url = options.url.trim();
  if (!url)
    return openSqlite(options.sqliteFile, {
      synchronous: options.sqliteSynchronous,
      offloadAfterMs: options.sqliteOffloadAfterMs,
      readThreads: options.sqliteReadThreads,
    });
  if (!isPostgresUrl(url))
    throw new DbUnavailableError("the database URL must start with postgres:// or postgresql://");
  return openPostgres(url, {
    maxConnections: options.maxConnections,
    statementTimeoutMs: options.statementTimeoutMs,
    onIdleError: options.onIdleError,
  });
}

/**
 * Opens the auxiliary store (request logs) beside the data: its own SQLite file when the data is in SQLite,
 * so log writes never wait on (or block) the data's writer; the data's own database on PostgreSQL.
 * `owned` tells whether the caller must close it.
 */
export function openAuxiliaryDatabase(
  url: string,
  auxiliaryFile: string,
  main: Database,
): { db: Database; owned: boolean } {
  if (url.trim()) return { db: main, owned: false };
  return { db: openSqlite(auxiliaryFile, { synchronous: "NORMAL" }), owned: true };
}
