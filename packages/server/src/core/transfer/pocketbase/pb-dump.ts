import type { ColumnKind } from "../../../db/index.js";
import { BasaltError } from "../../../errors/index.js";
import { nowDateTime } from "../../../util/index.js";
import { dependencyOrder } from "../collection-order.js";
import { columnKinds, columnToDump, DUMP_FORMAT, DUMP_VERSION, type DumpHeader } from "../dump-format.js";
import type { PlannedCollection } from "./pb-collections.js";
import type { PbSource } from "./pb-source.js";

/** The records each collection's source holds (what the import must end up with). */
export function sourceCounts(src: PbSource, plans: readonly PlannedCollection[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const p of plans) {
    if (p.collection.type === "view") continue;
    counts[p.collection.name] = p.table ? src.count(p.table) : 0;
  }
  return counts;
}

function badValue(where: string, raw: unknown): never {
  throw new BasaltError("BASALT_ERR_PB_IMPORT_SOURCE", `(${where} holds ${JSON.stringify(raw)})`);
}

/**
 * A PocketBase column value as the dump value of a Basalt column: the empty value of the kind for a NULL
 * (PocketBase's columns are NOT NULL with defaults, but an old row may still hold one), JSON text parsed,
 * and a single value in a multi-value column (left by a field made multiple later) wrapped in a list.
 */
export function pbValue(kind: ColumnKind, raw: unknown, where: string): unknown {
  switch (kind) {
    case "bool":
      return raw === null || raw === undefined ? false : columnToDump("bool", raw);
    case "number": {
      if (raw === null || raw === undefined || raw === "") return 0;
      const n = Number(raw);
      return Number.isFinite(n) ? n : badValue(where, raw);
    }
    case "json":
      return raw === null || raw === undefined ? null : columnToDump("json", raw);
    case "jsonArray": {
      if (raw === null || raw === undefined || raw === "") return [];
      const v = columnToDump("jsonArray", raw);
      if (Array.isArray(v)) return v;
      return [typeof v === "string" ? v : String(raw)];
    }
    case "geoPoint": {
      const v = raw === null || raw === undefined ? null : columnToDump("geoPoint", raw);
      return v && typeof v === "object" ? v : { lon: 0, lat: 0 };
    }
    case "nullableText":
      return raw === null || raw === undefined ? null : String(raw);
    default:
      return raw === null || raw === undefined ? "" : typeof raw === "string" ? raw : String(raw);
  }
}

/** Storage keys (`<collectionId>/<recordId>/<file>`) the imported records name in their file fields. */
export type FileRefs = Set<string>;

/**
 * The PocketBase data as a Basalt dump, one NDJSON line at a time, for `importDump`: the header with the
 * source counts, every collection, then each source table's rows converted column by column, and the
 * footer with the same counts (so the import's count check compares the target with the source).
 */
export async function* pocketbaseDump(
  src: PbSource,
  plans: readonly PlannedCollection[],
  counts: Record<string, number>,
  refs: FileRefs,
  settings: Record<string, unknown> | null = null,
): AsyncGenerator<string> {
  const header: DumpHeader = {
    format: DUMP_FORMAT,
    version: DUMP_VERSION,
    created: nowDateTime(),
    expected: counts,
  };
  yield JSON.stringify(header);
  const ordered = dependencyOrder(plans.map((p) => p.collection));
  for (const c of ordered) yield JSON.stringify({ type: "collection", data: c });
  const now = nowDateTime();
  if (settings)
    yield JSON.stringify({
      type: "param",
      data: { id: "settings", value: settings, created: now, updated: now },
    });
  for (const c of ordered) {
    const plan = plans.find((p) => p.collection === c)!;
    if (c.type === "view" || !plan.table) continue;
    const kinds = columnKinds(c);
    const present = src.columns(plan.table);
    const files = c.fields.filter((f) => f.type === "file").map((f) => f.name);
    let n = 0;
    for (const row of src.rows(plan.table)) {
      const data: Record<string, unknown> = {};
      for (const [name, kind] of kinds) {
        const column = plan.renames[name] ?? name;
        if (name in plan.constants) data[name] = plan.constants[name];
        else
          data[name] = pbValue(
            kind,
            present.has(column) ? row[column] : null,
            `${plan.table}.${column} of ${String(row.id)}`,
          );
      }
      for (const name of files) {
        const value = data[name];
        for (const file of Array.isArray(value) ? value : [value])
          if (typeof file === "string" && file) refs.add(`${c.id}/${String(data.id)}/${file}`);
      }
      yield JSON.stringify({ type: "record", collection: c.name, data });
      // let the event loop breathe (progress output, the target's driver) every page
      if (++n % 1000 === 0) await new Promise((r) => setImmediate(r));
    }
  }
  yield JSON.stringify({ type: "end", counts, params: settings ? 1 : 0 });
}
