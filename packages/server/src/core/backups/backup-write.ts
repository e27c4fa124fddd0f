import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import yazl from "yazl";
import type { Database } from "../../db/index.js";
import { nowDateTime } from "../../util/index.js";
import { exportDump } from "../transfer/index.js";
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  type BackupManifest,
  DUMP_ENTRY,
  MANIFEST_ENTRY,
  SQLITE_ENTRY,
  STORAGE_PREFIX,
  type StoreKind,
} from "./backup-manifest.js";

/** What a backup is made from. */
export interface BackupSource {
  readonly db: Database;
  /** The data folder's `storage/` (record files), or null when the files live in S3. */
  readonly storageDir: string | null;
  /** The Basalt version written into the manifest. */
  readonly version: string;
}

/** The store kind of a database, from its capabilities. */
export function storeKindOf(db: Database): StoreKind {
  if (db.copyTo) return "sqlite";
  if (db.readSnapshot) return "postgres";
  throw new Error("this database offers neither an online copy nor a snapshot transaction");
}

/**
 * Writes the database's consistent copy to `file`: SQLite's online copy (`VACUUM INTO`), or on PostgreSQL a
 * dump in `basalt export`'s format read in one REPEATABLE READ snapshot. Writes go on meanwhile; the copy
 * holds exactly what was committed at one instant.
 */
async function snapshotDatabase(db: Database, file: string): Promise<void> {
  if (db.copyTo) return db.copyTo(file);
  const out = createWriteStream(file, { flags: "wx" });
  const done = new Promise<void>((resolve, reject) => {
    out.once("finish", resolve);
    out.once("error", reject);
  });
  const write = (line: string) =>
    new Promise<void>((resolve, reject) => {
      out.write(`${line}\n`, (err) => (err ? reject(err) : resolve()));
    });
  try {
    await db.readSnapshot!((tx) => exportDump(tx, write));
  } finally {
    out.end();
  }
  await done;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

/** Every regular file under `root`, as `/`-separated paths relative to it (symbolic links are skipped). */
async function filesUnder(root: string): Promise<string[]> {
  const out: string[] = [];
  const stack = [""];
  while (stack.length) {
    const rel = stack.pop() as string;
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(join(root, rel), { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw err;
    }
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      // a hidden `.tmp` file is an upload still being written (see LocalStorage.put)
      if (e.isDirectory()) stack.push(path);
      else if (e.isFile() && !e.name.endsWith(".tmp")) out.push(path);
    }
  }
  return out.sort();
}

/**
 * Makes a backup archive at `zipFile`, using `workDir` for the database copy: `manifest.json` first, then the
 * database entry, then the record files. The database is snapshotted first; files uploaded or deleted while
 * the files are being added may or may not be in the archive (PocketBase has the same window).
 */
export async function writeBackup(
  source: BackupSource,
  workDir: string,
  zipFile: string,
): Promise<BackupManifest> {
  const store = storeKindOf(source.db);
  const entry = store === "sqlite" ? SQLITE_ENTRY : DUMP_ENTRY;
  const dbFile = join(workDir, entry);
  await snapshotDatabase(source.db, dbFile);
  const files: { path: string; size: number }[] = [];
  if (source.storageDir) {
    for (const path of await filesUnder(source.storageDir)) {
      const s = await stat(join(source.storageDir, path)).catch(() => null);
      if (s?.isFile()) files.push({ path, size: s.size });
    }
  }
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    store,
    created: nowDateTime(),
    basalt: source.version,
    database: { entry, size: (await stat(dbFile)).size, sha256: await sha256Of(dbFile) },
    files: {
      storage: source.storageDir ? "local" : "s3",
      count: files.length,
      bytes: files.reduce((a, f) => a + f.size, 0),
    },
  };
  const zip = new yazl.ZipFile();
  const written = pipeline(zip.outputStream, createWriteStream(zipFile, { flags: "wx" }));
  zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2)), MANIFEST_ENTRY);
  zip.addFile(dbFile, entry);
  // the size is fixed now: a file that changes or goes before it is read fails the backup, never skews it
  for (const f of files) zip.addFile(join(source.storageDir!, f.path), `${STORAGE_PREFIX}${f.path}`);
  zip.end();
  await written;
  return manifest;
}
