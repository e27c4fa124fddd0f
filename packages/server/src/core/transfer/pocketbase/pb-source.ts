import { constants, copyFileSync, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { BasaltError } from "../../../errors/index.js";

/** The two table layouts of a PocketBase `data.db`: before 0.23 (`schema`, `_admins`) and since. */
export type PbLayout = "0.22" | "0.23";

/** A PocketBase `data.db`, opened read-only. */
export interface PbSource {
  readonly layout: PbLayout;
  readonly db: BetterSqlite3.Database;
  /** The folder the database is in (`pb_data`), where `storage/` holds the uploaded files. */
  readonly dir: string;
  hasTable(name: string): boolean;
  /** The column names of a table (empty when there is no such table). */
  columns(name: string): Set<string>;
  count(table: string): number;
  /** A table's rows in insertion order, one page at a time. */
  rows(table: string): Iterable<Record<string, unknown>>;
  close(): void;
}

const PAGE = 1000;

function sourceError(detail: string, cause?: unknown): never {
  throw new BasaltError("BASALT_ERR_PB_IMPORT_SOURCE", detail, cause);
}

/** `"name"` quoted for SQLite. */
function q(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Checks that a folder looks like a PocketBase data folder (it holds `data.db`) before anything is created. */
export function checkPocketBaseFolder(path: string): string {
  const dir = resolve(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) sourceError(`(${dir} is not a folder)`);
  if (!existsSync(join(dir, "data.db"))) sourceError(`(${dir} has no data.db; pass the pb_data folder)`);
  return dir;
}

/**
 * Opens a COPY of `pb_data/data.db` (and its write-ahead log, when PocketBase left one) made in `workDir`:
 * even a read-only SQLite connection creates `-wal`/`-shm` files beside a WAL-mode database, and the user's
 * folder must not change. The copy is read with `query_only` and deleted on close. Tells the layout from the
 * `_collections` columns.
 */
export function openPocketBase(path: string, workDir: string): PbSource {
  const dir = checkPocketBaseFolder(path);
  const file = join(dir, "data.db");
  const copy = join(workDir, "data.db");
  let db: BetterSqlite3.Database;
  try {
    mkdirSync(workDir, { recursive: true });
    copyFileSync(file, copy, constants.COPYFILE_FICLONE);
    if (existsSync(`${file}-wal`)) copyFileSync(`${file}-wal`, `${copy}-wal`, constants.COPYFILE_FICLONE);
    db = new BetterSqlite3(copy, { fileMustExist: true });
    db.pragma("query_only = ON");
  } catch (err) {
    rmSync(workDir, { recursive: true, force: true });
    return sourceError(`(${file}: ${(err as Error).message})`, err);
  }
  try {
    const columns = (name: string) =>
      new Set(
        (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(name) as { name: string }[]).map(
          (r) => r.name,
        ),
      );
    const collectionColumns = columns("_collections");
    let layout: PbLayout;
    if (collectionColumns.has("fields")) layout = "0.23";
    else if (collectionColumns.has("schema")) layout = "0.22";
    else return sourceError(`(${file} has no PocketBase _collections table; stop PocketBase and retry?)`);
    const hasTable = (name: string) =>
      Boolean(db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name));
    return {
      layout,
      db,
      dir,
      hasTable,
      columns,
      count: (table) =>
        Number((db.prepare(`SELECT COUNT(*) AS n FROM ${q(table)}`).get() as { n: number }).n),
      *rows(table) {
        // rowid order is insertion order for PocketBase's tables (none is WITHOUT ROWID)
        const select = `SELECT rowid AS "__pb_rowid", * FROM ${q(table)}`;
        let last: number | null = null;
        for (;;) {
          const page = (
            last === null
              ? db.prepare(`${select} ORDER BY rowid LIMIT ?`).all(PAGE)
              : db.prepare(`${select} WHERE rowid > ? ORDER BY rowid LIMIT ?`).all(last, PAGE)
          ) as Record<string, unknown>[];
          for (const row of page) yield row;
          if (page.length < PAGE) return;
          last = Number(page[page.length - 1].__pb_rowid);
        }
      },
      close: () => {
        db.close();
        rmSync(workDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    db.close();
    rmSync(workDir, { recursive: true, force: true });
    if (err instanceof BasaltError) throw err;
    return sourceError(`(${file}: ${(err as Error).message})`, err);
  }
}
