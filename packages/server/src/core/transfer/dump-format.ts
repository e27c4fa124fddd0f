import type { ColumnKind, SqlValue } from "../../db/index.js";
import { BasaltError } from "../../errors/index.js";
import { isPlainObject } from "../../util/index.js";
import type { Collection } from "../collections/index.js";
import { fieldType } from "../fields/index.js";

/**
 * The dump is NDJSON, one object a line, in this order: the header, every collection definition (tables
 * in dependency order, views last), the `_params` rows (settings), the records collection by collection,
 * and a footer with the record counts. A dump without its footer is truncated and is refused.
 */
export const DUMP_FORMAT = "basalt-dump";
/** The version of the dump format this code writes and reads. */
export const DUMP_VERSION = 1;

/** The first line of a dump. */
export interface DumpHeader {
  format: typeof DUMP_FORMAT;
  version: number;
  created: string;
  /** Records per collection when the export started (the progress total; the footer holds the truth). */
  expected: Record<string, number>;
}

/** One line of a dump after the header. */
export type DumpLine =
  | { type: "collection"; data: Collection }
  | { type: "param"; data: { id: string; value: unknown; created: string; updated: string } }
  | { type: "record"; collection: string; data: Record<string, unknown> }
  | { type: "end"; counts: Record<string, number>; params: number };

/** The storage class of each column of a collection's table, by column name. */
export function columnKinds(c: Collection): Map<string, ColumnKind> {
  return new Map(c.fields.map((f) => [f.name, fieldType(f.type)?.columnKind(f) ?? "json"]));
}

/** Converts a stored column value to its dialect-neutral dump value (JSON parsed, booleans as booleans). */
export function columnToDump(kind: ColumnKind, raw: unknown): unknown {
  if (raw === null || raw === undefined) return null;
  switch (kind) {
    case "bool":
      return raw === true || raw === 1 || raw === "1" || raw === "t" || raw === "true";
    case "number":
      return typeof raw === "number" ? raw : Number(raw);
    case "json":
    case "jsonArray":
    case "geoPoint":
      if (typeof raw !== "string") return raw;
      try {
        return JSON.parse(raw);
      } catch {
        return raw; // text SQLite held in a JSON column: kept as the JSON string it reads as
      }
    default:
      return typeof raw === "string" ? raw : String(raw);
  }
}

/** Converts a dump value back to what the drivers bind for that column kind, or throws on a wrong type. */
export function dumpToColumn(kind: ColumnKind, value: unknown, where: string): SqlValue {
  const bad = (): never => badDump(`${where}: a ${kind} column cannot hold ${JSON.stringify(value)}`);
  switch (kind) {
    case "bool":
      return typeof value === "boolean" ? value : bad();
    case "number":
      return typeof value === "number" && Number.isFinite(value) ? value : bad();
    case "json":
      return value === null ? null : JSON.stringify(value);
    case "jsonArray":
    case "geoPoint":
      return value === null ? bad() : JSON.stringify(value);
    case "nullableText":
      return value === null || typeof value === "string" ? value : bad();
    default:
      return typeof value === "string" ? value : bad();
  }
}

/** The operator error for a dump that is not what `basalt export` writes. */
export function badDump(detail: string): never {
  throw new BasaltError("BASALT_ERR_TRANSFER_BAD_DUMP", detail);
}

/** Parses one line of a dump, checking its shape (never its meaning). */
export function parseDumpLine(text: string, lineNo: number): DumpLine {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return badDump(`line ${lineNo} is not valid JSON (a damaged or truncated file?)`);
  }
  if (!isPlainObject(v)) return badDump(`line ${lineNo} is not an object`);
  const ok =
    (v.type === "collection" && isPlainObject(v.data) && typeof v.data.name === "string") ||
    (v.type === "param" && isPlainObject(v.data) && typeof v.data.id === "string") ||
    (v.type === "record" && typeof v.collection === "string" && isPlainObject(v.data)) ||
    (v.type === "end" && isPlainObject(v.counts) && typeof v.params === "number");
  if (!ok) return badDump(`line ${lineNo} is not a collection, param, record or end line`);
  return v as unknown as DumpLine;
}

/** Parses and checks the header line. */
export function parseDumpHeader(text: string | undefined): DumpHeader {
  let v: unknown;
  try {
    v = text === undefined ? undefined : JSON.parse(text);
  } catch {
    v = undefined;
  }
  if (!isPlainObject(v) || v.format !== DUMP_FORMAT)
    return badDump("the first line is not a Basalt dump header");
  if (v.version !== DUMP_VERSION)
    return badDump(`version ${String(v.version)} is not supported (this Basalt reads ${DUMP_VERSION})`);
  return {
    ...(v as unknown as DumpHeader),
    expected: isPlainObject(v.expected) ? (v.expected as Record<string, number>) : {},
  };
}
