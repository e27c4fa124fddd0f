import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { importDump, refuseNonEmpty } from "../core/transfer/index.js";
import {
  checkPocketBaseFolder,
  copyPocketBaseFiles,
  type FileRefs,
  openPocketBase,
  type PbSource,
  planCollections,
  pocketbaseDump,
  readPbSettings,
  sourceCounts,
} from "../core/transfer/pocketbase/index.js";
import { type Database, openDatabase } from "../db/index.js";
import { BasaltError } from "../errors/index.js";
import { LocalStorage } from "../files/index.js";
import { prepareDataDir } from "./data-dir.js";
import { fail } from "./fail.js";
import { progressReporter } from "./progress.js";
import { commitStagedFiles, dropStagedFiles } from "./transfer-files.js";
import { redactDbUrl } from "./transfer-summary.js";

/** The options `basalt import-pocketbase` parses. */
export interface ImportPocketbaseOptions {
  dir: string;
  /** A PostgreSQL URL to import into; absent imports into the SQLite database of `dir`. */
  db?: string;
}

/** Removes what this run created in a SQLite target, so a failed import leaves the folder as it found it. */
function removeCreated(dir: string, dirExisted: boolean, fileExisted: boolean): void {
  if (fileExisted) return;
  if (!dirExisted) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  for (const suffix of ["", "-wal", "-shm"]) rmSync(join(dir, `data.db${suffix}`), { force: true });
}

/**
 * `basalt import-pocketbase PB_DATA`: brings a PocketBase data folder (0.22 or 0.23+ layout, read-only)
 * into an EMPTY Basalt target (`--dir`, or PostgreSQL with `--db`): collections, records (password hashes
 * kept), superusers, OAuth2 links in one transaction checked count by count against the source, then the
 * uploaded files. Any error leaves the target as it was.
 */
export async function runImportPocketbase(pbData: string, opts: ImportPocketbaseOptions): Promise<void> {
  const url = opts.db?.trim() ?? "";
  const dir = resolve(opts.dir);
  const dirExisted = existsSync(dir);
  const fileExisted = existsSync(join(dir, "data.db"));
  const storageDir = join(dir, "storage");
  const staging = join(dir, `.storage-import-${process.pid}`);
  const progress = progressReporter("import-pocketbase");
  let src: PbSource | undefined;
  let db: Database | undefined;
  let staged = false;
  try {
    checkPocketBaseFolder(pbData);
    if (existsSync(storageDir) && readdirSync(storageDir).length)
      throw new BasaltError("BASALT_ERR_TRANSFER_TARGET_NOT_EMPTY", `(${storageDir} holds files)`);
    if (!url) prepareDataDir(dir);
    else mkdirSync(dir, { recursive: true });
    src = openPocketBase(pbData, join(dir, `.pocketbase-source-${process.pid}`));
    const settings = readPbSettings(src);
    const plans = planCollections(src, settings.providers);
    const counts = sourceCounts(src, plans);
    console.log(
      `PocketBase ${src.layout === "0.22" ? "0.22" : "0.23+"} data folder ${src.dir}: ${plans.length} collections, ${Object.values(counts).reduce((a, b) => a + b, 0)} records.`,
    );
    db = await openDatabase({ url, sqliteFile: join(dir, "data.db") });
    // refused before any file is copied; the import checks again inside its transaction
    await refuseNonEmpty(db);

    // the files are staged first and put in place once the records have committed; a PocketBase that kept
    // them in S3 has none to copy: the imported S3 settings point Basalt at the same bucket and keys
    const s3 = settings.value?.s3 as { enabled?: boolean; bucket?: string } | undefined;
    staged = true;
    const files = s3?.enabled
      ? { files: 0, bytes: 0, stored: new Set<string>() }
      : await copyPocketBaseFiles(
          src.dir,
          plans.map((p) => p.collection.id),
          new LocalStorage(staging),
        );
    const refs: FileRefs = new Set();
    const summary = await importDump(
      db,
      pocketbaseDump(src, plans, counts, refs, settings.value),
      progress.update,
    );
    progress.stop();
    const pbDir = src.dir;
    src.close();
    src = undefined;
    await db.close();
    db = undefined;
    if (files.files) await commitStagedFiles(staging, storageDir);
    else await dropStagedFiles(staging);

    const to = url ? `PostgreSQL at ${redactDbUrl(url)}` : join(dir, "data.db");
    for (const p of plans) {
      if (p.collection.type === "view") continue;
      const name = p.collection.name;
      console.log(`  ${name}: ${summary.records[name] ?? 0} of ${counts[name]} records`);
    }
    console.log(
      `Imported ${summary.collections} collections and ${Object.values(summary.records).reduce((a, b) => a + b, 0)} records into ${to}; every count matches the PocketBase source.`,
    );
    if (settings.value)
      console.log(
        "Imported the settings (application, SMTP, S3, backups, logs; OAuth2 providers of 0.22 into its auth collections).",
      );
    if (settings.encrypted)
      console.error(
        "Warning: PocketBase's settings are encrypted (--encryptionEnv) and were left out: set them again in the dashboard.",
      );
    if (s3?.enabled) {
      console.log(
        `The uploaded files stay in the S3 bucket ${String(s3.bucket)}, which Basalt now uses too.`,
      );
      return;
    }
    console.log(`Copied ${files.files} uploaded files (${files.bytes} bytes) to ${storageDir}.`);
    const missing = [...refs].filter((key) => !files.stored.has(key));
    if (missing.length) {
      console.error(
        `Warning: ${missing.length} files the records name were not in ${join(pbDir, "storage")} (missing in PocketBase too): ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", …" : ""}`,
      );
    }
  } catch (err) {
    progress.stop();
    src?.close();
    await db?.close().catch(() => undefined);
    if (staged) await dropStagedFiles(staging);
    if (!url) removeCreated(dir, dirExisted, fileExisted);
    else if (!dirExisted) rmSync(dir, { recursive: true, force: true });
    fail(err);
  }
}
