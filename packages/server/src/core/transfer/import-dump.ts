import type { ColumnKind, Database, Queryable, SqlValue } from "../../db/index.js";
import { BasaltError } from "../../errors/index.js";
import type { Collection } from "../collections/index.js";
import { dependencyOrder } from "./collection-order.js";
import { badDump, columnKinds, dumpToColumn, parseDumpHeader, parseDumpLine } from "./dump-format.js";
import type { TransferProgress, TransferSummary } from "./export-dump.js";
import {
  batchSize,
  checkCollection,
  createIndexes,
  createTables,
  createViews,
  insertBatch,
  insertParam,
  refuseNonEmpty,
} from "./import-tables.js";

interface Pending {
  collection: Collection;
  kinds: Map<string, ColumnKind>;
  columns: string[];
  size: number;
  rows: SqlValue[][];
}

/**
 * Loads a dump into an EMPTY database in one transaction: collections in dependency order, settings, the
 * records in multi-row batches, then indexes and views, and finally checks each collection's row count
 * against the dump's footer. On any error (a damaged or truncated dump, a clash, a view query the target
 * cannot run) the transaction rolls back and the database is left as it was.
 */
export async function importDump(
  db: Database,
  lines: AsyncIterable<string>,
  onProgress: TransferProgress = () => undefined,
): Promise<TransferSummary> {
  const it = lines[Symbol.asyncIterator]();
  const first = await it.next();
  const header = parseDumpHeader(first.done ? undefined : first.value);
  await refuseNonEmpty(db);
  const total = Object.values(header.expected).reduce((a, b) => a + (Number(b) || 0), 0);
  return db.transaction(async (tx) => {
    const collections = new Map<string, Collection>();
    let ordered: Collection[] | null = null;
    const seen: Record<string, number> = {};
    let params = 0;
    let done = 0;
    let pending = null as Pending | null;
    let footer: { counts: Record<string, number>; params: number } | null = null;
    const flush = async () => {
      if (!pending) return;
      await insertBatch(tx, pending.collection.name, pending.columns, pending.rows);
      done += pending.rows.length;
      pending.rows = [];
      onProgress(done, Math.max(total, done), pending.collection.name);
    };
    let lineNo = 1;
    for (let next = await it.next(); !next.done; next = await it.next()) {
      lineNo++;
      if (!next.value.trim()) continue;
      if (footer) badDump(`line ${lineNo} follows the end line`);
      const line = parseDumpLine(next.value, lineNo);
      if (line.type === "collection") {
        if (ordered) badDump(`line ${lineNo}: a collection after the records began`);
        const c = line.data;
        checkCollection(c, lineNo);
        if (collections.has(c.name.toLowerCase()) || [...collections.values()].some((o) => o.id === c.id))
          badDump(`line ${lineNo}: the collection ${c.name} appears twice`);
        collections.set(c.name.toLowerCase(), c);
        continue;
      }
      if (!ordered) {
        ordered = dependencyOrder([...collections.values()]);
        await createTables(tx, ordered);
      }
      if (line.type === "param") {
        await insertParam(tx, line.data);
        params++;
      } else if (line.type === "record") {
        const c = collections.get(line.collection.toLowerCase());
        if (!c || c.type === "view") badDump(`line ${lineNo}: a record of an unknown collection`);
        if (pending?.collection !== c) {
          await flush();
          const kinds = columnKinds(c!);
          pending = { collection: c!, kinds, columns: [...kinds.keys()], size: batchSize(kinds), rows: [] };
        }
        pending!.rows.push(toRow(pending!, line.data, lineNo));
        seen[c!.name] = (seen[c!.name] ?? 0) + 1;
        if (pending!.rows.length >= pending!.size) await flush();
      } else {
        await flush();
        footer = line;
      }
    }
    if (!footer) badDump(`it ends at line ${lineNo} without its end line (truncated?)`);
    if (!ordered) {
      ordered = dependencyOrder([...collections.values()]);
      await createTables(tx, ordered);
    }
    await createIndexes(tx, ordered);
    await createViews(tx, ordered);
    const records = await verifyCounts(tx, ordered, footer!, seen, params);
    await verifyAuthIds(tx, ordered);
    return { collections: ordered.length, records, params };
  });
}

function toRow(p: Pending, data: Record<string, unknown>, lineNo: number): SqlValue[] {
  for (const key of Object.keys(data)) {
    if (!p.kinds.has(key)) badDump(`line ${lineNo}: ${p.collection.name} has no field ${key}`);
  }
  return p.columns.map((name) => {
    if (!(name in data)) badDump(`line ${lineNo}: the field ${name} is missing`);
    return dumpToColumn(p.kinds.get(name)!, data[name], `line ${lineNo}, field ${name}`);
  });
}

/**
 * Refuses a dump in which two auth collections share a record id: access rules compare `@request.auth.id`
 * with stored ids, so such a pair would let one account act as the other.
 */
async function verifyAuthIds(q: Queryable, collections: readonly Collection[]): Promise<void> {
  const t = q.dialect.quoteIdent;
  const auth = collections.filter((c) => c.type === "auth");
  if (auth.length < 2) return;
  const union = auth.map((c) => `SELECT ${t("id")} FROM ${t(c.name)}`).join(" UNION ALL ");
  const dup = await q.get<{ id: string }>(
    `SELECT ${t("id")} FROM (${union}) AS ${t("ids")} GROUP BY ${t("id")} HAVING COUNT(*) > 1 LIMIT 1`,
  );
  if (dup) throw new BasaltError("BASALT_ERR_TRANSFER_DUPLICATE_AUTH_ID", `(the id ${dup.id})`);
}

/** Compares the rows now in each table with the lines read and the footer's counts; throws on a difference. */
async function verifyCounts(
  q: Queryable,
  collections: readonly Collection[],
  footer: { counts: Record<string, number>; params: number },
  seen: Record<string, number>,
  params: number,
): Promise<Record<string, number>> {
  const t = q.dialect.quoteIdent;
  const records: Record<string, number> = {};
  const problems: string[] = [];
  if (footer.params !== params) problems.push(`settings: the dump says ${footer.params}, it holds ${params}`);
  for (const name of Object.keys(footer.counts)) {
    if (!collections.some((c) => c.name === name && c.type !== "view"))
      problems.push(`${name}: counted in the dump but not defined`);
  }
  for (const c of collections) {
    if (c.type === "view") continue;
    const row = await q.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t(c.name)}`);
    const inTable = Number(row?.n ?? 0);
    const expected = Number(footer.counts[c.name] ?? 0);
    const read = seen[c.name] ?? 0;
    if (inTable !== expected || read !== expected)
      problems.push(`${c.name}: the dump says ${expected}, it holds ${read}, the table has ${inTable}`);
    records[c.name] = inTable;
  }
  if (problems.length)
    throw new BasaltError(
      "BASALT_ERR_TRANSFER_COUNT_MISMATCH",
      `${problems.join("; ")}; nothing was imported`,
    );
  return records;
}
