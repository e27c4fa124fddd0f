import {
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Logger } from "pino";
import { type Database, dropTable, dropView } from "../../db/index.js";
import { COLLECTIONS_TABLE, loadCollectionRows, PARAMS_TABLE } from "../collections/index.js";
import { dependencyOrder, importDump } from "../transfer/index.js";
import {
  type BackupManifest,
  DUMP_ENTRY,
  MANIFEST_ENTRY,
  parseManifest,
  SQLITE_ENTRY,
} from "./backup-manifest.js";

/** The data folder's folder holding a checked, unpacked backup waiting to be applied at the next start. */
export const STAGED_DIR = ".restore";
/** Written last into the staged folder: without it the staging was interrupted and is discarded. */
const READY = "READY";
/** Where the data replaced by a restore waits until the restored data has opened. */
const PREVIOUS_DIR = ".restore-previous";
const SQLITE_FILES = [SQLITE_ENTRY, `${SQLITE_ENTRY}-wal`, `${SQLITE_ENTRY}-shm`];

/** Marks an unpacked, checked backup (with its manifest) as the restore to apply at the next start. */
export function markStaged(stagingDir: string, manifest: BackupManifest, dataDir: string): void {
  writeFileSync(join(stagingDir, MANIFEST_ENTRY), JSON.stringify(manifest));
  writeFileSync(join(stagingDir, READY), "");
  const target = join(dataDir, STAGED_DIR);
  rmSync(target, { recursive: true, force: true });
  renameSync(stagingDir, target);
}

/** The staged restore's manifest, or null; an interrupted or unreadable staging is removed. */
export function readStaged(dataDir: string, log: Logger): BackupManifest | null {
  const dir = join(dataDir, STAGED_DIR);
  if (!existsSync(dir)) return null;
  const manifest = existsSync(join(dir, READY))
    ? parseManifest(readFileSync(join(dir, MANIFEST_ENTRY), "utf8"))
    : "the staging was interrupted";
  if (typeof manifest === "string") {
    log.error({ reason: manifest }, "a staged backup restore was discarded");
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return manifest;
}

/** Drops a staged restore that will not be applied. */
export function discardStaged(dataDir: string): void {
  rmSync(join(dataDir, STAGED_DIR), { recursive: true, force: true });
}

function moveIfExists(from: string, to: string): void {
  if (existsSync(from)) renameSync(from, to);
}

/** Before the database opens: the current SQLite files go aside and the backup's database takes their place. */
export function swapInSqlite(dataDir: string): void {
  const previous = join(dataDir, PREVIOUS_DIR);
  rmSync(previous, { recursive: true, force: true });
  mkdirSync(previous);
  for (const f of SQLITE_FILES) moveIfExists(join(dataDir, f), join(previous, f));
  renameSync(join(dataDir, STAGED_DIR, SQLITE_ENTRY), join(dataDir, SQLITE_ENTRY));
}

/** Puts the SQLite files set aside by {@link swapInSqlite} back (the restored database did not open). */
export function undoSqlite(dataDir: string): void {
  const previous = join(dataDir, PREVIOUS_DIR);
  for (const f of SQLITE_FILES) {
    rmSync(join(dataDir, f), { force: true });
    moveIfExists(join(previous, f), join(dataDir, f));
  }
}

/**
 * On PostgreSQL: in ONE transaction, drops every collection's table and view and the `_collections` and
 * `_params` tables, then loads the backup's dump (which checks every count). Any failure rolls everything
 * back: the database is as it was. Tables outside the collections (jobs, webhooks, logs) are kept.
 */
export async function importStagedDump(db: Database, dataDir: string): Promise<void> {
  await db.transaction(async (tx) => {
    if (await tx.tableExists(COLLECTIONS_TABLE)) {
      const current = dependencyOrder(await loadCollectionRows(tx)).reverse();
      for (const c of current) {
        if (c.type === "view") await dropView(tx, c.name);
        else await dropTable(tx, c.name);
      }
    }
    await dropTable(tx, COLLECTIONS_TABLE);
    await dropTable(tx, PARAMS_TABLE);
    const lines = createInterface({
      input: createReadStream(join(dataDir, STAGED_DIR, DUMP_ENTRY), "utf8"),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    // inside this transaction, the import's own transaction is a savepoint of it
    await importDump(db, lines);
  });
}

/** After the database is restored: the backup's files replace the data folder's `storage/` (kept aside). */
export function swapInStorage(dataDir: string, manifest: BackupManifest): void {
  if (manifest.files.storage !== "local") return; // the files are in S3: a restore leaves them as they are
  const previous = join(dataDir, PREVIOUS_DIR);
  mkdirSync(previous, { recursive: true });
  rmSync(join(previous, "storage"), { recursive: true, force: true });
  moveIfExists(join(dataDir, "storage"), join(previous, "storage"));
  const staged = join(dataDir, STAGED_DIR, "storage");
  if (existsSync(staged)) renameSync(staged, join(dataDir, "storage"));
  else mkdirSync(join(dataDir, "storage"));
}

/** Once the restored data has opened: the staged folder and the replaced data are removed. */
export function finishRestore(dataDir: string): void {
  rmSync(join(dataDir, STAGED_DIR), { recursive: true, force: true });
  rmSync(join(dataDir, PREVIOUS_DIR), { recursive: true, force: true });
}
