import {
  ConstraintViolationError,
  DbCorruptError,
  DbError,
  DbStatementError,
  DbUnavailableError,
  UniqueViolationError,
} from "../errors.js";

/** Translates a better-sqlite3 error into one of db/'s error classes; other errors pass through. */
export function translateSqliteError(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof DbError) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== "string" || !code.startsWith("SQLITE_")) return err;
  if (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
    // "UNIQUE constraint failed: posts.title, posts.slug"
    const list = err.message.split(":").slice(1).join(":").trim();
    const parts = list ? list.split(",").map((p) => p.trim()) : [];
    const table = parts[0]?.split(".")[0] ?? "";
    const columns = parts.map((p) => p.split(".").slice(1).join("."));
    return new UniqueViolationError(table, columns, err);
  }
  if (code.startsWith("SQLITE_CONSTRAINT")) return new ConstraintViolationError(err.message, err);
  if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") return new DbCorruptError(err.message, err);
  if (
    code === "SQLITE_BUSY" ||
    code === "SQLITE_LOCKED" ||
    code === "SQLITE_CANTOPEN" ||
    code === "SQLITE_IOERR"
  ) {
    return new DbUnavailableError(err.message, err);
  }
  if (code === "SQLITE_ERROR") return new DbStatementError(err.message, err);
  return new DbError(err.message, err);
}
