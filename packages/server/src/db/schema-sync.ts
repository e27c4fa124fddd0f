import type { ColumnSpec, IndexSpec, Queryable, TableSpec } from "./dialect.js";
import { DbStatementError } from "./errors.js";

function indexKey(index: IndexSpec): string {
  return JSON.stringify([index.unique, index.columns]);
}

/**
 * Brings a table from `prev` (null: it does not exist yet) to `next` with DDL, inside the caller's
 * transaction: renames the table, renames/adds/drops/converts columns (matched by `key`), and drops or
 * creates the indexes that changed. Throws DbStatementError when a column kind change is not supported.
 */
export async function syncTable(q: Queryable, prev: TableSpec | null, next: TableSpec): Promise<void> {
  const d = q.dialect;
  const t = d.quoteIdent;
  if (!prev) {
    const cols = next.columns.map((c) => `${t(c.name)} ${d.columnDefinition(c.kind)}`).join(", ");
    await q.exec(`CREATE TABLE ${t(next.name)} (${cols})`);
    for (const index of next.indexes) await q.exec(d.createIndex(next.name, index));
    return;
  }

  const prevIndexes = new Map(prev.indexes.map((i) => [i.name, i]));
  const nextIndexes = new Map(next.indexes.map((i) => [i.name, i]));
  const columnRenamed = (name: string) => {
    const before = prev.columns.find((c) => c.name === name);
    const after = before && next.columns.find((c) => c.key === before.key);
    return !after || after.name !== name || after.kind !== before.kind;
  };
  // Indexes go first: a column that an index covers cannot be dropped or converted.
  for (const old of prev.indexes) {
    const same = nextIndexes.get(old.name);
    const touched = old.columns.some((c) => columnRenamed(c.name));
    if (!same || indexKey(same) !== indexKey(old) || touched || prev.name !== next.name) {
      await q.exec(d.dropIndex(prev.name, old.name));
      prevIndexes.delete(old.name);
    }
  }

  if (prev.name !== next.name) await q.exec(`ALTER TABLE ${t(prev.name)} RENAME TO ${t(next.name)}`);
  const table = t(next.name);
  const nextByKey = new Map(next.columns.map((c) => [c.key, c]));
  const prevByKey = new Map(prev.columns.map((c) => [c.key, c]));

  for (const old of prev.columns) {
    if (!nextByKey.has(old.key)) await q.exec(`ALTER TABLE ${table} DROP COLUMN ${t(old.name)}`);
  }
  // Two-step renames avoid collisions when columns swap names.
  const renamed: { col: ColumnSpec; temp: string }[] = [];
  for (const col of next.columns) {
    const old = prevByKey.get(col.key);
    if (old && old.name !== col.name) {
      const temp = `__rename_${renamed.length}_${col.key}`;
      await q.exec(`ALTER TABLE ${table} RENAME COLUMN ${t(old.name)} TO ${t(temp)}`);
      renamed.push({ col, temp });
    }
  }
  for (const { col, temp } of renamed) {
    await q.exec(`ALTER TABLE ${table} RENAME COLUMN ${t(temp)} TO ${t(col.name)}`);
  }
  for (const col of next.columns) {
    const old = prevByKey.get(col.key);
    if (!old) {
      await q.exec(`ALTER TABLE ${table} ADD COLUMN ${t(col.name)} ${d.columnDefinition(col.kind)}`);
    } else if (old.kind !== col.kind) {
      const expr = d.convertColumn(t(col.name), old.kind, col.kind);
      if (expr === null)
        throw new DbStatementError(`cannot convert column ${col.name} from ${old.kind} to ${col.kind}`);
      const temp = t(`__convert_${col.key}`);
      await q.exec(`ALTER TABLE ${table} ADD COLUMN ${temp} ${d.columnDefinition(col.kind)}`);
      await q.exec(`UPDATE ${table} SET ${temp} = ${expr}`);
      await q.exec(`ALTER TABLE ${table} DROP COLUMN ${t(col.name)}`);
      await q.exec(`ALTER TABLE ${table} RENAME COLUMN ${temp} TO ${t(col.name)}`);
    }
  }
  for (const index of next.indexes) {
    if (!prevIndexes.has(index.name)) await q.exec(d.createIndex(next.name, index));
  }
}

/** Drops a table if it exists. */
export async function dropTable(q: Queryable, name: string): Promise<void> {
  await q.exec(`DROP TABLE IF EXISTS ${q.dialect.quoteIdent(name)}`);
}

/** Creates (replacing) a view from a SELECT statement. */
export async function createView(q: Queryable, name: string, select: string): Promise<void> {
  await dropView(q, name);
  await q.exec(`CREATE VIEW ${q.dialect.quoteIdent(name)} AS ${select}`);
}

/** Drops a view if it exists. */
export async function dropView(q: Queryable, name: string): Promise<void> {
  await q.exec(`DROP VIEW IF EXISTS ${q.dialect.quoteIdent(name)}`);
}
