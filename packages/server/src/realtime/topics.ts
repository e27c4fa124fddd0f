import { isPlainObject } from "../util/index.js";

/** The most subscriptions one client may hold, as in PocketBase. */
export const MAX_SUBSCRIPTIONS = 1000;
/** The longest subscription string accepted, as in PocketBase. */
export const MAX_TOPIC_LENGTH = 2500;

/** A parsed subscription: which records, and the per-subscription query and headers the SDK sends. */
export interface Topic {
  /** The exact subscription string: events are sent under this name. */
  readonly raw: string;
  /** Collection id or name, or `@oauth2` and other special topics. */
  readonly collection: string;
  /** A record id, or `*` for every record of the collection. */
  readonly recordId: string;
  /** `filter`, `expand`, `fields` and other query values. */
  readonly query: Record<string, string>;
  /** Extra headers visible to rules as `@request.headers.*`. */
  readonly headers: Record<string, string>;
  /** `query` and `headers` as one string, to group subscribers that ask the same question. */
  readonly optionsKey: string;
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isPlainObject(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    if (k === "__proto__" || k === "constructor") continue;
    if (typeof v === "string") out[k] = v;
    else if (typeof v === "number" || typeof v === "boolean") out[k] = String(v);
  }
  return out;
}

/**
 * Parses `collection/*`, `collection/RECORD_ID` or a bare `collection`, each with an optional
 * `?options=<url-encoded JSON {query, headers}>` suffix. Returns null for anything malformed.
 */
export function parseTopic(raw: string): Topic | null {
  if (typeof raw !== "string" || raw === "" || raw.length > MAX_TOPIC_LENGTH) return null;
  const q = raw.indexOf("?");
  const path = q < 0 ? raw : raw.slice(0, q);
  let query: Record<string, string> = {};
  let headers: Record<string, string> = {};
  if (q >= 0) {
    const params = new URLSearchParams(raw.slice(q + 1));
    const options = params.get("options");
    if (options) {
      try {
        const parsed = JSON.parse(options) as unknown;
        if (isPlainObject(parsed)) {
          query = stringMap(parsed.query);
          headers = stringMap(parsed.headers);
        }
      } catch {
        return null;
      }
    }
  }
  const slash = path.indexOf("/");
  const collection = slash < 0 ? path : path.slice(0, slash);
  const recordId = slash < 0 ? "*" : path.slice(slash + 1);
  if (!collection || !recordId || recordId.includes("/")) return null;
  return { raw, collection, recordId, query, headers, optionsKey: JSON.stringify([query, headers]) };
}
