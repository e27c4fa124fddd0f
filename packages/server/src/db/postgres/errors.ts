import {
  ConstraintViolationError,
  DbError,
  DbStatementError,
  DbUnavailableError,
  UniqueViolationError,
} from "../errors.js";

/** Node and node-postgres errors that mean the server could not be reached or dropped the connection. */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EPIPE"]);
const NETWORK_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended/i;

/** Splits `a, lower(b), (c)::text` at top-level commas. */
function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const ch = list[i];
    if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === "," && depth === 0) {
      parts.push(list.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(list.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean);
}

/** The column a key expression is about: `lower((email)::text)` → `email`, `"Name"` → `Name`. */
function columnOf(expr: string): string {
  let e = expr.trim();
  for (;;) {
    const next = e
      .replace(/::[\w ]+(\[\])?$/, "")
      .replace(/^\w+\((.*)\)$/s, "$1")
      .replace(/^\((.*)\)$/s, "$1")
      .trim();
    if (next === e) break;
    e = next;
  }
  return e.startsWith('"') && e.endsWith('"') ? e.slice(1, -1).replaceAll('""', '"') : e;
}

/** The key columns of a 23505 detail: `Key (title, lower(slug))=(a, b) already exists.` → title, slug. */
export function uniqueColumns(detail: string | undefined): string[] {
  if (!detail) return [];
  const start = detail.indexOf("Key (");
  const end = detail.indexOf(")=(");
  if (start < 0 || end < start) return [];
  return splitTopLevel(detail.slice(start + 5, end)).map(columnOf);
}

/** Translates a node-postgres error into one of db/'s error classes; other errors pass through. */
export function translatePostgresError(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof DbError) return err;
  const { code, detail, table } = err as { code?: unknown; detail?: string; table?: string };
  if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code)) {
    if ((typeof code === "string" && NETWORK_CODES.has(code)) || NETWORK_MESSAGE.test(err.message)) {
      return new DbUnavailableError(err.message, err);
    }
    return err;
  }
  if (code === "23505") return new UniqueViolationError(table ?? "", uniqueColumns(detail), err);
  if (code.startsWith("23")) return new ConstraintViolationError(err.message, err);
  if (
    code.startsWith("08") ||
    code.startsWith("53") ||
    // authentication failed, or the database does not exist: it cannot be opened
    code.startsWith("28") ||
    code === "3D000" ||
    code === "57P01" ||
    code === "57P02" ||
    code === "57P03" ||
    // statement_timeout, serialization failure and deadlock: the request may be retried
    code === "57014" ||
    code === "40001" ||
    code === "40P01" ||
    code === "55P03"
  ) {
    return new DbUnavailableError(err.message, err);
  }
  if (code.startsWith("42") || code.startsWith("22") || code.startsWith("0A") || code.startsWith("21")) {
    return new DbStatementError(err.message, err);
  }
  return new DbError(err.message, err);
}
