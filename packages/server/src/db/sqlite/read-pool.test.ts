import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DbTimeoutError } from "../errors.js";
import { openSqlite, type SqliteDatabase } from "./driver.js";

// Issue 10: a client-driven read (db.bounded) that runs past the offload time on the main thread moves to a
// reader thread and answers the same there, while the event loop stays free; reads inside a transaction
// never move. `basalt_tick()` in a LEFT JOIN's ON clause is what filters add, and what lets a read be stopped
// (the conditions stay in the ON clauses, as in filters: a WHERE condition on a joined table would turn the
// join into an inner one, and a lone `basalt_tick()` term would then run only in the outermost loop).

const ROWS = 400;
// every triple of rows, so the read runs long enough to pass the offload time (15 ms) on any machine
const HEAVY =
  "SELECT a.id AS id, a.label AS label, a.flag AS flag, a.blob AS blob, count(c.id) AS n FROM t a" +
  " LEFT JOIN t b ON b.id >= a.id AND basalt_tick() LEFT JOIN t c ON (b.id + c.id) % 7 = 0 AND basalt_tick()" +
  " WHERE a.id <= ? AND a.label != ? AND a.flag = ? GROUP BY a.id ORDER BY a.id";
const HEAVY_PARAMS = [20, "nothing", true];

let dir: string;
let db: SqliteDatabase;
let plain: SqliteDatabase;

async function seed(target: SqliteDatabase): Promise<void> {
  await target.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, label TEXT, flag INTEGER, blob BLOB)");
  await target.transaction(async (tx) => {
    for (let i = 1; i <= ROWS; i++) {
      await tx.run("INSERT INTO t (id, label, flag, blob) VALUES (?, ?, ?, ?)", [
        i,
        `row ${i}`,
        i % 2 === 1,
        Buffer.from([i % 256, 7]),
      ]);
    }
  });
}

/** Counts event-loop turns until the promise settles: zero when the work held the thread throughout. */
async function turnsWhile<T>(p: () => Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0;
  let done = false;
  const spin = () => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  try {
    return { value: await p(), turns };
  } finally {
    done = true;
  }
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "basalt-read-pool-"));
  db = openSqlite(join(dir, "data.db"), { readThreads: 1 });
  await seed(db);
  // the same file with no reader threads: every read on the main thread, the reference answers
  plain = openSqlite(join(dir, "data.db"), { readThreads: 0 });
});

afterEach(async () => {
  await plain.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("SQLite reads that run long move to a reader thread", () => {
  it("answers a long read the same as the main thread, Buffers, numbers and bound booleans included", async () => {
    const expected = await plain.all(HEAVY, HEAVY_PARAMS);
    const { value, turns } = await turnsWhile(() => db.bounded(60_000).all(HEAVY, HEAVY_PARAMS));
    expect(db.readThreadsStarted).toBe(1);
    expect(value).toEqual(expected);
    expect(value).toHaveLength(10);
    expect(value[0]).toMatchObject({ id: 1, flag: 1 });
    const first = value[0] as Record<string, unknown>;
    expect(Buffer.isBuffer(first.blob)).toBe(true);
    expect(Object.keys(first)).toEqual(["id", "label", "flag", "blob", "n"]);
    // the event loop went on turning while the reader thread worked
    expect(turns).toBeGreaterThan(10);
    // `get` answers the first row
    expect(await db.bounded(60_000).get(HEAVY, HEAVY_PARAMS)).toEqual(expected[0]);
  }, 120_000);

  it("holds the event loop for the whole read when there are no reader threads", async () => {
    const { turns } = await turnsWhile(() => plain.bounded(60_000).all(HEAVY, HEAVY_PARAMS));
    expect(plain.readThreadsStarted).toBe(0);
    expect(turns).toBeLessThanOrEqual(1);
  }, 120_000);

  it("keeps cheap reads on the main thread", async () => {
    const rows = await db
      .bounded(3000)
      .all("SELECT a.id AS id FROM t a LEFT JOIN t b ON b.id = a.id AND basalt_tick() WHERE a.id < 4");
    expect(rows).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(db.readThreadsStarted).toBe(0);
  });

  it("sees committed writes and schema changes in the reader thread", async () => {
    const sql =
      "SELECT a.*, count(c.id) AS n FROM t a LEFT JOIN t b ON b.id >= a.id AND basalt_tick()" +
      " LEFT JOIN t c ON (b.id + c.id) % 7 = 0 AND basalt_tick() WHERE a.id <= ? GROUP BY a.id ORDER BY a.id";
    const before = (await db.bounded(60_000).all(sql, [3])) as Record<string, unknown>[];
    expect(db.readThreadsStarted).toBe(1);
    expect(Object.keys(before[0])).toEqual(["id", "label", "flag", "blob", "n"]);
    await db.exec("ALTER TABLE t ADD COLUMN extra TEXT NOT NULL DEFAULT 'x'");
    await db.run("UPDATE t SET label = 'changed' WHERE id = 1");
    const after = (await db.bounded(60_000).all(sql, [3])) as Record<string, unknown>[];
    expect(after).toEqual(await plain.all(sql, [3]));
    expect(after[0]).toMatchObject({ label: "changed", extra: "x" });
    expect(db.readThreadsStarted).toBe(1);
  }, 120_000);

  it("never moves a read inside a transaction: it sees the transaction's own writes", async () => {
    const sql =
      "SELECT count(*) AS n FROM t a LEFT JOIN t b ON b.id > 0 AND basalt_tick() LEFT JOIN t c ON c.id > 0 AND basalt_tick() WHERE a.label = ?";
    const n = await db.transaction(async (tx) => {
      await tx.run("INSERT INTO t (id, label, flag) VALUES (?, ?, ?)", [ROWS + 1, "uncommitted", 1]);
      return db.bounded(60_000).get<{ n: number }>(sql, ["uncommitted"]);
    });
    expect(n).toEqual({ n: (ROWS + 1) * (ROWS + 1) });
    expect(db.readThreadsStarted).toBe(0);
  }, 120_000);

  it("stops a read past its budget, queued ones too, and serves the next", async () => {
    const heavy =
      "SELECT count(*) AS n FROM t a LEFT JOIN t b ON b.id > a.id AND basalt_tick() LEFT JOIN t c ON c.id > 0 AND basalt_tick() LEFT JOIN t d ON d.id > 0 AND basalt_tick()";
    const runs = await Promise.allSettled([1, 2, 3].map(() => db.bounded(200).all(heavy)));
    for (const r of runs) {
      expect(r.status).toBe("rejected");
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(DbTimeoutError);
    }
    expect(db.readThreadsStarted).toBe(1);
    expect(await db.bounded(3000).all("SELECT id FROM t WHERE id = ?", [2])).toEqual([{ id: 2 }]);
    expect(await db.bounded(60_000).all(HEAVY, HEAVY_PARAMS)).toEqual(await plain.all(HEAVY, HEAVY_PARAMS));
  }, 120_000);
});
