import type { SqlValue } from "../db/index.js";

/** Who is calling and with what: the values `@request.*` reads. Missing values resolve to null. */
export interface RequestInfo {
  /** The full auth record as stored (hidden fields included, raw DB values), or null for guests. */
  auth: (Record<string, unknown> & { id: string; collectionId: string; collectionName: string }) | null;
  body: Record<string, unknown>;
  query: Record<string, string>;
  /** Header names lower-cased with `-` replaced by `_` (`x_token`). */
  headers: Record<string, string>;
  method: string;
  /** `default`, `oauth2`, `otp`, `password`, `realtime`, `protectedFile`, `batch` or `expand`. */
  context: string;
}

/** A request with nothing set: a guest GET in the default context. */
export const EMPTY_REQUEST: RequestInfo = {
  auth: null,
  body: {},
  query: {},
  headers: {},
  method: "GET",
  context: "default",
};

const MISSING = Symbol("missing");

/** Reads a nested value from the request by path (`["body","a","0"]`); `MISSING` when absent. */
export function lookupRequest(request: RequestInfo, path: readonly string[]): unknown {
  let cur: unknown = request;
  for (const key of path) {
    if (cur === null || cur === undefined) return MISSING;
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(key)) return MISSING;
      const idx = Number(key);
      if (idx >= cur.length) return MISSING;
      cur = cur[idx];
      continue;
    }
    if (typeof cur !== "object" || !Object.hasOwn(cur, key)) return MISSING;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** True when lookupRequest found nothing. */
export function isMissing(value: unknown): boolean {
  return value === MISSING;
}

/** The static classes a request value falls in; compiled SQL differs by class, never by value. */
export type ValueClass = "null" | "empty" | "text" | "number" | "bool" | "json";

/** Classifies a request value the way PocketBase's resolver treats it (arrays/objects become JSON text). */
export function classify(value: unknown): ValueClass {
  if (value === MISSING || value === null || value === undefined) return "null";
  if (typeof value === "string") return value === "" ? "empty" : "text";
  if (typeof value === "number") return Number.isFinite(value) ? "number" : "null";
  if (typeof value === "bigint") return "number";
  if (typeof value === "boolean") return "bool";
  if (value instanceof Date) return "text";
  return "json";
}

/** Converts a request value into the bound parameter for its class. */
export function toParam(value: unknown): SqlValue {
  if (value === MISSING || value === null || value === undefined) return null;
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "bigint") return Number(value);
  if (value instanceof Date) return value.toISOString().replace("T", " ");
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  try {
    return JSON.stringify(value) ?? null;
  } catch {
    return null;
  }
}

/** A value as a list (null → [], scalar → [scalar]), as PocketBase's toSlice. */
export function toList(value: unknown): unknown[] {
  if (value === MISSING || value === null || value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
