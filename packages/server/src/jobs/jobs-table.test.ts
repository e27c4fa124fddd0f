import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { syncTable } from "../db/schema-sync.js";
import { openSqlite, type SqliteDatabase } from "../db/sqlite/driver.js";
import { ensureJobsTable, JOBS_TABLE, JOBS_TABLE_SPEC } from "./jobs-table.js";

let dir: string;
let db: SqliteDatabase;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "basalt-jobs-table-"));
  db = openSqlite(join(dir, "data.db"));
});
afterEach(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

it("gives a `_jobs` table from before job tracing its trace column, keeping the jobs it holds", async () => {
  const old = { ...JOBS_TABLE_SPEC, columns: JOBS_TABLE_SPEC.columns.filter((c) => c.key !== "trace") };
  await syncTable(db, null, old);
  await db.run(
    `INSERT INTO ${JOBS_TABLE} (id, queue, payload, state, priority, attempts, max_attempts, run_at, lease_until, locked_by, last_error, idempotency_key, created, updated) VALUES ('j1', 'q', '{}', 'pending', 0, 0, 5, 1, 0, '', '', NULL, 1, 1)`,
  );
  await ensureJobsTable(db);
  const columns = (await db.tableColumns(JOBS_TABLE)).map((c) => c.name);
  expect(columns).toContain("trace");
  expect(await db.get(`SELECT id, trace FROM ${JOBS_TABLE}`)).toEqual({ id: "j1", trace: "" });
  // a second start changes nothing
  await ensureJobsTable(db);
  expect((await db.tableColumns(JOBS_TABLE)).map((c) => c.name)).toEqual(columns);
});
