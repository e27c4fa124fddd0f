import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DbUnavailableError } from "../errors.js";
import { openSqlite, type SqliteDatabase } from "./driver.js";

// A transaction's BEGIN IMMEDIATE runs with its first statement: until then it holds no database lock (only
// this process's write mutex), so another process can still write; from that statement on it holds the
// write lock to its end; one that runs no statement commits nothing; and a failed first statement can be
// retried within the transaction.

let dir: string;
let db: SqliteDatabase;
let other: SqliteDatabase;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "basalt-sqlite-tx-"));
  db = openSqlite(join(dir, "data.db"), { readThreads: 0, busyTimeoutMs: 100 });
  await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, label TEXT)");
  // a second connection set, as another process would hold: it gives up on a lock at once
  other = openSqlite(join(dir, "data.db"), { readThreads: 0, busyTimeoutMs: 0 });
});

afterEach(async () => {
  await db.close();
  await other.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("SQLite transactions", () => {
  it("take the write lock with their first statement and keep it to the end", async () => {
    let otherBeforeFirst: unknown = null;
    let otherAfterFirst: unknown = null;
    await db.transaction(async (tx) => {
      // nothing run yet: another connection may write
      otherBeforeFirst = await other.run("INSERT INTO t (id, label) VALUES (1, 'other')").catch((e) => e);
      await tx.run("INSERT INTO t (id, label) VALUES (2, 'mine')");
      otherAfterFirst = await other.run("INSERT INTO t (id, label) VALUES (3, 'other')").catch((e) => e);
      // the transaction sees the row written before its first statement
      expect(await tx.all("SELECT id FROM t ORDER BY id")).toEqual([{ id: 1 }, { id: 2 }]);
    });
    expect(otherBeforeFirst).toEqual({ changes: 1 });
    expect(otherAfterFirst).toBeInstanceOf(DbUnavailableError);
    expect(await db.all("SELECT id FROM t ORDER BY id")).toEqual([{ id: 1 }, { id: 2 }]);
  });

  it("commit nothing and hold no lock when they run no statement", async () => {
    const result = await db.transaction(async () => "done");
    expect(result).toBe("done");
    // the connection is not left inside a transaction: the next one begins normally
    await db.transaction((tx) => tx.run("INSERT INTO t (id, label) VALUES (1, 'a')"));
    expect(await other.all("SELECT id FROM t")).toEqual([{ id: 1 }]);
  });

  it("roll back everything when the function throws after its statements", async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.run("INSERT INTO t (id, label) VALUES (1, 'a')");
        await tx.transaction((inner) => inner.run("INSERT INTO t (id, label) VALUES (2, 'b')"));
        throw new Error("refused");
      }),
    ).rejects.toThrow("refused");
    expect(await db.all("SELECT id FROM t")).toEqual([]);
  });

  it("let their next statement commit on its own when asked before any statement, that one only", async () => {
    let granted = false;
    let otherWhileOpen: unknown = null;
    await db.transaction(async (tx) => {
      granted = tx.commitWithNext?.() ?? false;
      await tx.run("INSERT INTO t (id, label) VALUES (1, 'alone')");
      // committed already, and no lock held: another connection sees it and may write
      expect(await other.all("SELECT id FROM t")).toEqual([{ id: 1 }]);
      otherWhileOpen = await other.run("INSERT INTO t (id, label) VALUES (2, 'other')").catch((e) => e);
    });
    expect(granted).toBe(true);
    expect(otherWhileOpen).toEqual({ changes: 1 });
    // refused once a statement has run: the rest stays one transaction
    let late = true;
    await expect(
      db.transaction(async (tx) => {
        await tx.run("INSERT INTO t (id, label) VALUES (3, 'a')");
        late = tx.commitWithNext?.() ?? true;
        await tx.run("INSERT INTO t (id, label) VALUES (4, 'b')");
        throw new Error("undo");
      }),
    ).rejects.toThrow("undo");
    expect(late).toBe(false);
    expect(await db.all("SELECT id FROM t ORDER BY id")).toEqual([{ id: 1 }, { id: 2 }]);
    // and inside a savepoint there is nothing to grant
    await db.transaction(async (tx) => {
      await tx.transaction(async (inner) => {
        expect(inner.commitWithNext?.() ?? false).toBe(false);
      });
    });
  });

  it("refuse statements on a transaction's queryable once it has ended", async () => {
    let kept: import("../dialect.js").Queryable | null = null;
    await db.transaction(async (tx) => {
      kept = tx;
    });
    const late = kept as unknown as import("../dialect.js").Queryable;
    await expect(late.run("INSERT INTO t (id, label) VALUES (9, 'late')")).rejects.toThrow(/already ended/);
    // the connection is not left in a transaction: the next one runs normally
    await db.transaction((tx) => tx.run("INSERT INTO t (id, label) VALUES (1, 'a')"));
    expect(await other.all("SELECT id FROM t")).toEqual([{ id: 1 }]);
  });

  it("begin again when the first statement could not take the lock", async () => {
    const rows = await db.transaction(async (tx) => {
      // another connection holds the write lock: the BEGIN IMMEDIATE with the first statement fails
      await other.exec("BEGIN IMMEDIATE");
      const refused = await tx.run("INSERT INTO t (id, label) VALUES (1, 'a')").catch((e) => e);
      await other.exec("COMMIT");
      expect(refused).toBeInstanceOf(DbUnavailableError);
      await tx.run("INSERT INTO t (id, label) VALUES (2, 'b')");
      return tx.all("SELECT id FROM t");
    });
    expect(rows).toEqual([{ id: 2 }]);
    expect(await other.all("SELECT id FROM t")).toEqual([{ id: 2 }]);
  });
});
