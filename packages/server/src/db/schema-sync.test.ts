import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { TableSpec } from "./dialect.js";
import { syncTable } from "./schema-sync.js";
import { openSqlite, type SqliteDatabase } from "./sqlite/driver.js";

let dir: string;
let db: SqliteDatabase;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "basalt-sync-"));
  db = openSqlite(join(dir, "t.db"));
});
afterEach(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

const v1: TableSpec = {
  name: "t",
  columns: [
    { key: "k0", name: "id", kind: "id" },
    { key: "k1", name: "a", kind: "text" },
    { key: "k2", name: "b", kind: "text" },
    { key: "k3", name: "tags", kind: "text" },
  ],
  indexes: [{ name: "idx_t_a", unique: true, columns: [{ name: "a" }] }],
};

describe("syncTable on SQLite", () => {
  it("renames, swaps, adds, drops and converts columns, keeping data and indexes", async () => {
    await db.transaction((tx) => syncTable(tx, null, v1));
    await db.run(`INSERT INTO t (id, a, b, tags) VALUES ('1', 'x', 'y', 'red')`);
    const v2: TableSpec = {
      name: "t2",
      columns: [
        { key: "k0", name: "id", kind: "id" },
        { key: "k1", name: "b", kind: "text" },
        { key: "k2", name: "a", kind: "text" },
        { key: "k3", name: "tags", kind: "jsonArray" },
        { key: "k4", name: "n", kind: "number" },
      ],
      indexes: [{ name: "idx_t_a", unique: true, columns: [{ name: "b" }] }],
    };
    await db.transaction((tx) => syncTable(tx, v1, v2));
    expect(await db.get("SELECT * FROM t2")).toEqual({ id: "1", b: "x", a: "y", tags: '["red"]', n: 0 });
    await expect(db.run(`INSERT INTO t2 (id, b) VALUES ('2', 'x')`)).rejects.toThrow(/unique/i);
  });

  it("rolls back the whole change when one step fails", async () => {
    await db.transaction((tx) => syncTable(tx, null, v1));
    const bad: TableSpec = {
      ...v1,
      columns: [...v1.columns.slice(0, 3), { key: "k3", name: "tags", kind: "bool" }],
    };
    await expect(db.transaction((tx) => syncTable(tx, v1, { ...bad, name: "t9" }))).rejects.toThrow(
      /cannot convert/,
    );
    expect(await db.tableExists("t")).toBe(true);
    expect(await db.tableExists("t9")).toBe(false);
  });
});
