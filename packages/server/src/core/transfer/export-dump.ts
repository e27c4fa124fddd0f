import type { Queryable, SqlValue } from "../../db/index.js";
import { BasaltError } from "../../errors/index.js";
import { nowDateTime } from "../../util/index.js";
import { COLLECTIONS_TABLE, loadCollectionRows, PARAMS_TABLE } from "../collections/index.js";
import { dependencyOrder } from "./collection-order.js";
import { columnKinds, columnToDump, DUMP_FORMAT, DUMP_VERSION, type DumpHeader } from "./dump-format.js";

/** Told how far a transfer is: records done out of the expected total, and the collection at hand. */
export type TransferProgress = (done: number, total: number, collection: string) => void;

/** What a transfer moved: collections, records per collection, and settings rows. */
export interface TransferSummary {
  collections: number;
  records: Record<string, number>;
  params: number;
}

const PAGE = 1000;
const POS = "__basalt_pos";

/**
 * Writes a database's collections (with their options and secrets), settings and records as a dump, one
 * line at a time through `write` (which should wait for the output to drain). Records are read in pages in
 * insertion order; for an exact copy, stop writes while it runs.
 */
export async function exportDump(
  db: Queryable,
  write: (line: string) => Promise<void>,
  onProgress: TransferProgress = () => undefined,
): Promise<TransferSummary> {
  if (!(await db.tableExists(COLLECTIONS_TABLE)))
    throw new BasaltError("BASALT_ERR_TRANSFER_NO_SOURCE", "(no _collections table)");
  const t = db.dialect.quoteIdent;
  const collections = dependencyOrder(await loadCollectionRows(db));
  const tables = collections.filter((c) => c.type !== "view");
  const expected: Record<string, number> = {};
  for (const c of tables) {
    const row = await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t(c.name)}`);
    expected[c.name] = Number(row?.n ?? 0);
  }
  const total = Object.values(expected).reduce((a, b) => a + b, 0);
  const header: DumpHeader = { format: DUMP_FORMAT, version: DUMP_VERSION, created: nowDateTime(), expected };
  await write(JSON.stringify(header));
  for (const c of collections) await write(JSON.stringify({ type: "collection", data: c }));

  const params = await db.all<Record<string, unknown>>(
    `SELECT * FROM ${t(PARAMS_TABLE)} ORDER BY ${t("id")}`,
  );
  for (const p of params) {
    const data = { id: p.id, value: columnToDump("json", p.value), created: p.created, updated: p.updated };
    await write(JSON.stringify({ type: "param", data }));
  }

  const records: Record<string, number> = {};
  let done = 0;
  for (const c of tables) {
    const kinds = columnKinds(c);
    const pos = db.dialect.rowOrder("r");
    const select = `SELECT ${pos} AS ${t(POS)}, ${t("r")}.* FROM ${t(c.name)} ${t("r")}`;
    let last: SqlValue | undefined;
    let n = 0;
    onProgress(done, total, c.name);
    for (;;) {
      const rows =
        last === undefined
          ? await db.all<Record<string, unknown>>(`${select} ORDER BY ${pos} LIMIT ?`, [PAGE])
          : await db.all<Record<string, unknown>>(`${select} WHERE ${pos} > ? ORDER BY ${pos} LIMIT ?`, [
              last,
              PAGE,
            ]);
      for (const row of rows) {
        const data: Record<string, unknown> = {};
        for (const [name, kind] of kinds) data[name] = columnToDump(kind, row[name]);
        await write(JSON.stringify({ type: "record", collection: c.name, data }));
      }
      n += rows.length;
      done += rows.length;
      onProgress(done, Math.max(total, done), c.name);
      if (rows.length < PAGE) break;
      last = rows[rows.length - 1][POS] as SqlValue;
    }
    records[c.name] = n;
  }
  await write(JSON.stringify({ type: "end", counts: records, params: params.length }));
  return { collections: collections.length, records, params: params.length };
}
