import { type Database, type Queryable, syncTable, type TableSpec } from "../db/index.js";

/** The table holding every job of every queue (cron ticks and webhook deliveries included). */
export const JOBS_TABLE = "_jobs";

/** The states a job moves through: pending → running → done, or back to pending (a retry), or dead. */
export type JobState = "pending" | "running" | "done" | "dead" | "cancelled";

/** Every job state, for validating filters. */
export const JOB_STATES: readonly JobState[] = ["pending", "running", "done", "dead", "cancelled"];

/**
 * The schema of `_jobs`. Times are epoch milliseconds (numbers compare alike on every engine); names are
 * lower-case so SQL can spell them unquoted on both engines.
 */
export const JOBS_TABLE_SPEC: TableSpec = {
  name: JOBS_TABLE,
  columns: [
    { key: "id", name: "id", kind: "id" },
    { key: "queue", name: "queue", kind: "text" },
    { key: "payload", name: "payload", kind: "json" },
    { key: "state", name: "state", kind: "text" },
    { key: "priority", name: "priority", kind: "number" },
    { key: "attempts", name: "attempts", kind: "number" },
    { key: "max_attempts", name: "max_attempts", kind: "number" },
    { key: "run_at", name: "run_at", kind: "number" },
    { key: "lease_until", name: "lease_until", kind: "number" },
    { key: "locked_by", name: "locked_by", kind: "text" },
    { key: "last_error", name: "last_error", kind: "text" },
    { key: "idempotency_key", name: "idempotency_key", kind: "nullableText" },
    { key: "created", name: "created", kind: "number" },
    { key: "updated", name: "updated", kind: "number" },
    { key: "trace", name: "trace", kind: "text" },
  ],
  indexes: [
    {
      name: "idx__jobs_claim",
      unique: false,
      columns: [{ name: "queue" }, { name: "state" }, { name: "run_at" }],
    },
    // NULL keys never collide: only keyed jobs are deduplicated
    {
      name: "idx__jobs_key",
      unique: true,
      columns: [{ name: "queue" }, { name: "idempotency_key" }],
    },
    { name: "idx__jobs_state", unique: false, columns: [{ name: "state" }, { name: "updated" }] },
  ],
};

/** `_jobs` as it was before jobs carried their enqueuer's trace: a data folder from then gains the column. */
const BEFORE_TRACE: TableSpec = {
  ...JOBS_TABLE_SPEC,
  columns: JOBS_TABLE_SPEC.columns.filter((c) => c.key !== "trace"),
};

/**
 * Creates `_jobs` on a database that does not have it yet (or adds the columns a newer Basalt needs), once
 * across instances starting together.
 */
export async function ensureJobsTable(db: Database): Promise<void> {
  const current = async (q: Queryable) =>
    (await q.tableExists(JOBS_TABLE))
      ? (await q.tableColumns(JOBS_TABLE)).some((c) => c.name === "trace")
        ? "current"
        : "old"
      : "none";
  if ((await current(db)) === "current") return;
  await db.lockedTransaction("jobs-bootstrap", async (tx) => {
    const state = await current(tx);
    if (state === "none") await syncTable(tx, null, JOBS_TABLE_SPEC);
    else if (state === "old") await syncTable(tx, BEFORE_TRACE, JOBS_TABLE_SPEC);
  });
}
