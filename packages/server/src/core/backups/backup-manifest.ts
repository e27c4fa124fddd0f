import { isPlainObject } from "../../util/index.js";

/** The `format` of a Basalt backup's manifest: what tells a Basalt backup from any other zip. */
export const BACKUP_FORMAT = "basalt-backup";
/** The manifest version this code writes and reads. */
export const BACKUP_VERSION = 1;

/** The archive entry holding the manifest; it is always the first entry. */
export const MANIFEST_ENTRY = "manifest.json";
/** The archive entry holding a SQLite store's database (an online copy). */
export const SQLITE_ENTRY = "data.db";
/** The archive entry holding a PostgreSQL store's data (a dump in `basalt export`'s format). */
export const DUMP_ENTRY = "dump.ndjson";
/** The folder of the uploaded files inside the archive (the data folder's `storage/`, as it is on disk). */
export const STORAGE_PREFIX = "storage/";

/** The store kind a backup holds; a backup restores only onto the same kind. */
export type StoreKind = "sqlite" | "postgres";

/** What `manifest.json` says about a backup. */
export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  version: number;
  store: StoreKind;
  created: string;
  basalt: string;
  /** The database entry: its name, size and SHA-256, checked before a restore. */
  database: { entry: string; size: number; sha256: string };
  /** Where the uploaded files were: `local` (in the archive, counted here) or `s3` (not in the archive). */
  files: { storage: "local" | "s3"; count: number; bytes: number };
}

/** Parses a manifest's text; returns the reason when it is not one this Basalt reads. */
export function parseManifest(text: string): BackupManifest | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return "its manifest.json is not valid JSON";
  }
  if (!isPlainObject(v) || v.format !== BACKUP_FORMAT)
    return "its manifest.json is not a Basalt backup manifest";
  if (v.version !== BACKUP_VERSION)
    return `it is a version ${String(v.version)} backup; this Basalt reads version ${BACKUP_VERSION}`;
  const db = v.database;
  const files = v.files;
  const ok =
    (v.store === "sqlite" || v.store === "postgres") &&
    isPlainObject(db) &&
    db.entry === (v.store === "sqlite" ? SQLITE_ENTRY : DUMP_ENTRY) &&
    Number.isSafeInteger(db.size) &&
    typeof db.sha256 === "string" &&
    /^[0-9a-f]{64}$/.test(db.sha256) &&
    isPlainObject(files) &&
    (files.storage === "local" || files.storage === "s3") &&
    Number.isSafeInteger(files.count) &&
    Number.isSafeInteger(files.bytes);
  if (!ok) return "its manifest.json lacks or misstates the store, database or files";
  return v as unknown as BackupManifest;
}
