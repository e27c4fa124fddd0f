import type { Queryable, TableSpec } from "../db/index.js";
import { nowDateTime } from "../util/index.js";

/** The table that records which migration files have been applied (file name and when). */
export const MIGRATIONS_TABLE = "_migrations";

const SPEC: TableSpec = {
  name: MIGRATIONS_TABLE,
  columns: [
    { key: "file", name: "file", kind: "id" },
    { key: "applied", name: "applied", kind: "text" },
  ],
  indexes: [],
};

/** One applied migration. */
export interface AppliedMigration {
  readonly file: string;
  readonly applied: string;
}

/** Creates the history table when missing; run it under the migrations lock so instances create it once. */
export async function ensureMigrationsTable(q: Queryable): Promise<void> {
  if (await q.tableExists(MIGRATIONS_TABLE)) return;
  const d = q.dialect;
  const cols = SPEC.columns.map((c) => `${d.quoteIdent(c.name)} ${d.columnDefinition(c.kind)}`);
  await q.exec(`CREATE TABLE ${d.quoteIdent(MIGRATIONS_TABLE)} (${cols.join(", ")})`);
}

/** The applied migrations, the last applied last (none when the table does not exist yet). */
export async function appliedMigrations(q: Queryable): Promise<AppliedMigration[]> {
  if (!(await q.tableExists(MIGRATIONS_TABLE))) return [];
  const t = q.dialect.quoteIdent;
  return q.all<AppliedMigration>(
    `SELECT ${t("file")} AS file, ${t("applied")} AS applied FROM ${t(MIGRATIONS_TABLE)} ORDER BY ${t("applied")}, ${t("file")}`,
  );
}

/** True when the file is recorded as applied. */
export async function isApplied(q: Queryable, file: string): Promise<boolean> {
  const t = q.dialect.quoteIdent;
  const row = await q.get(`SELECT 1 AS one FROM ${t(MIGRATIONS_TABLE)} WHERE ${t("file")} = ?`, [file]);
  return row !== undefined;
}

/** Records a file as applied now. */
export async function recordMigration(q: Queryable, file: string): Promise<void> {
  const t = q.dialect.quoteIdent;
  await q.run(`INSERT INTO ${t(MIGRATIONS_TABLE)} (${t("file")}, ${t("applied")}) VALUES (?, ?)`, [
    file,
    nowDateTime(),
  ]);
}

/** Removes a file's history row. */
export async function forgetMigration(q: Queryable, file: string): Promise<void> {
  const t = q.dialect.quoteIdent;
  await q.run(`DELETE FROM ${t(MIGRATIONS_TABLE)} WHERE ${t("file")} = ?`, [file]);
}
