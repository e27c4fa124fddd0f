import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConstraintViolationError,
  type Database,
  DbStatementError,
  DbTimeoutError,
  DbUnavailableError,
  openDatabase,
  UniqueViolationError,
} from "../../src/db/index.js";
import { createApp } from "../../src/main.js";
import { createTestDatabase, type TestDatabase, type TestStore } from "../harness/dialects.js";

// The Database contract every store implements (issue 6): one suite, run on each store BASALT_TEST_DIALECTS picks.

const stores = (process.env.BASALT_TEST_DIALECTS ?? "sqlite").split(",").filter(Boolean) as TestStore[];

interface Opened {
  readonly url: string;
  readonly dir: string;
  readonly pg?: TestDatabase;
}

async function prepare(store: TestStore): Promise<Opened> {
  const dir = mkdtempSync(join(tmpdir(), "basalt-conf-"));
  if (store === "sqlite") return { url: "", dir };
  const pg = await createTestDatabase();
  return { url: pg.url, dir, pg };
}

const open = (o: Opened) => openDatabase({ url: o.url, sqliteFile: join(o.dir, "data.db") });

describe.each(stores)("Database on %s", (store) => {
  let opened: Opened;
  let db: Database;

  beforeAll(async () => {
    opened = await prepare(store);
    db = await open(opened);
    const d = db.dialect;
    await db.exec(
      `CREATE TABLE "items" ("id" ${d.columnDefinition("id")}, "Name" ${d.columnDefinition("text")}, ` +
        `"n" ${d.columnDefinition("number")}, "ok" ${d.columnDefinition("bool")}, "data" ${d.columnDefinition("json")})`,
    );
    await db.exec(
      d.createIndex("items", {
        name: "idx_items_name",
        unique: true,
        columns: [{ name: "Name", collate: "nocase" }],
      }),
    );
  });

  afterAll(async () => {
    await db?.close();
    await opened?.pg?.drop();
    if (opened) rmSync(opened.dir, { recursive: true, force: true });
  });

  it("binds ? parameters and returns JSON as its text, numbers as numbers", async () => {
    await db.run('INSERT INTO "items" ("id", "Name", "n", "ok", "data") VALUES (?, ?, ?, ?, ?)', [
      "a1",
      "Alpha",
      2.5,
      true,
      '{"x":[1,"two"]}',
    ]);
    const row = await db.get<Record<string, unknown>>(
      'SELECT "n", "data", COUNT(*) AS c FROM "items" WHERE "id" = ? GROUP BY "n", "data"',
      ["a1"],
    );
    expect(row?.n).toBe(2.5);
    expect(row?.c).toBe(1);
    expect(JSON.parse(String(row?.data))).toEqual({ x: [1, "two"] });
    expect(await db.all('SELECT "id" FROM "items" WHERE "ok" = ?', [true])).toEqual([{ id: "a1" }]);
  });

  it("commits, rolls back, and nests transactions as savepoints", async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO "items" ("id", "Name") VALUES (?, ?)', ["t1", "T1"]);
        // a call on the database inside the transaction runs in it
        expect(await db.get('SELECT "id" FROM "items" WHERE "id" = ?', ["t1"])).toEqual({ id: "t1" });
        await tx
          .transaction(async (inner) => {
            await inner.run('INSERT INTO "items" ("id", "Name") VALUES (?, ?)', ["t2", "T2"]);
            throw new Error("inner fails");
          })
          .catch(() => undefined);
        expect(await tx.get('SELECT "id" FROM "items" WHERE "id" = ?', ["t2"])).toBeUndefined();
        throw new Error("outer fails");
      }),
    ).rejects.toThrow("outer fails");
    expect(await db.get('SELECT "id" FROM "items" WHERE "id" = ?', ["t1"])).toBeUndefined();
    await db.transaction(async (tx) => {
      await tx.run('INSERT INTO "items" ("id", "Name") VALUES (?, ?)', ["t3", "T3"]);
    });
    expect(await db.get('SELECT "id" FROM "items" WHERE "id" = ?', ["t3"])).toEqual({ id: "t3" });
  });

  it("translates unique, constraint and statement errors", async () => {
    const dup = db.run('INSERT INTO "items" ("id", "Name") VALUES (?, ?)', ["u1", "ALPHA"]);
    await expect(dup).rejects.toBeInstanceOf(UniqueViolationError);
    await expect(dup).rejects.toMatchObject({ columns: ["Name"] });
    await expect(
      db.run('INSERT INTO "items" ("id", "Name") VALUES (?, ?)', ["a1", "Other"]),
    ).rejects.toMatchObject({
      columns: ["id"],
    });
    await expect(
      db.run('INSERT INTO "items" ("id", "Name") VALUES (?, NULL)', ["u2"]),
    ).rejects.toBeInstanceOf(ConstraintViolationError);
    await expect(db.all('SELECT "nope" FROM "items"')).rejects.toBeInstanceOf(DbStatementError);
  });

  it("stops a bounded read that runs past its time limit, in and outside a transaction (issue 10)", async () => {
    const d = db.dialect;
    // a join that yields 10^10 row pairs, with the check filters put in every join's ON clause
    const slow =
      "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 100000) " +
      `SELECT count(*) AS "n" FROM r a LEFT JOIN r b ON a.x <> b.x${d.joinCheck}`;
    await expect(db.bounded(50).get(slow)).rejects.toBeInstanceOf(DbTimeoutError);
    // the connection serves on, and unbounded reads are not limited by the earlier deadline
    expect(await db.bounded(50).get('SELECT 1 AS "one"')).toEqual({ one: 1 });
    await expect(
      db.transaction(async (tx) => {
        await tx.bounded(50).all(slow);
      }),
    ).rejects.toBeInstanceOf(DbTimeoutError);
    expect(await db.get('SELECT 2 AS "two"')).toEqual({ two: 2 });
  });

  it("introspects tables and describes queries, even inside a transaction after a bad query", async () => {
    expect(await db.tableExists("ITEMS")).toBe(true);
    expect(await db.tableExists("missing")).toBe(false);
    const cols = await db.tableColumns("items");
    expect(cols.map((c) => c.name)).toEqual(["id", "Name", "n", "ok", "data"]);
    expect(cols.find((c) => c.name === "id")?.primaryKey).toBe(true);
    await db.transaction(async (tx) => {
      await expect(tx.describeQuery('SELECT "nope" FROM "items"')).rejects.toThrow();
      const described = await tx.describeQuery(
        'SELECT i."id", i."Name" AS label, i."n" + 1 AS more FROM "items" i',
      );
      expect(described).toEqual([
        { name: "id", table: "items", column: "id" },
        { name: "label", table: "items", column: "Name" },
        { name: "more", table: null, column: null },
      ]);
      // the transaction is still usable
      expect(await tx.get('SELECT COUNT(*) AS c FROM "items"')).toBeDefined();
    });
  });

  // Several instances share a database only on PostgreSQL; two SQLite connections in one process would
  // wait for each other's lock synchronously, blocking the event loop (separate processes are fine).
  const shared = store === "postgres";

  it.runIf(shared)("runs locked transactions of several connections one after another", async () => {
    const other = await open(opened);
    const log: string[] = [];
    const task = (who: string, q: Database) =>
      q.lockedTransaction("conformance", async () => {
        log.push(`${who}:in`);
        await new Promise((r) => setTimeout(r, 100));
        log.push(`${who}:out`);
      });
    try {
      await Promise.all([task("a", db), task("b", other)]);
    } finally {
      await other.close();
    }
    const first = log[0].split(":")[0];
    expect(log).toHaveLength(4);
    expect(log[1]).toBe(`${first}:out`);
  });

  it.runIf(shared)("lets several instances start on a new database at once", async () => {
    const fresh = await prepare(store);
    const silent = pino({ level: "silent" });
    try {
      const apps = await Promise.all(
        [0, 1, 2].map(() => createApp({ dataDir: fresh.dir, dbUrl: fresh.url, http: "127.0.0.1:0" }, silent)),
      );
      const names = apps.map((a) => a.app.collections.list().length);
      expect(new Set(names).size).toBe(1);
      for (const a of apps) await a.close();
    } finally {
      await fresh.pg?.drop();
      rmSync(fresh.dir, { recursive: true, force: true });
    }
  });
});

describe.runIf(stores.includes("postgres"))("PostgreSQL that cannot be reached", () => {
  it("fails to open with DbUnavailableError", async () => {
    const opening = openDatabase({ url: "postgres://postgres@127.0.0.1:1/none", sqliteFile: "" });
    await expect(opening).rejects.toBeInstanceOf(DbUnavailableError);
  });
});
