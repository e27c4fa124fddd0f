import { createReadStream, existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { importDump } from "../core/transfer/index.js";
import { type Database, openDatabase } from "../db/index.js";
import { BasaltError } from "../errors/index.js";
import { prepareDataDir } from "./data-dir.js";
import { fail } from "./fail.js";
import { progressReporter } from "./progress.js";
import { commitStagedFiles, dropStagedFiles, filesFolderOf, stageFiles } from "./transfer-files.js";
import { describeSummary, redactDbUrl } from "./transfer-summary.js";

/** The options `basalt import` parses. */
export interface ImportOptions {
  in: string;
  dir: string;
  /** A PostgreSQL URL to import into; absent imports into the SQLite database of `dir`. */
  db?: string;
}

/** Removes a SQLite target this run created, so a failed import leaves the folder as it found it. */
function removeCreated(dir: string, dirExisted: boolean, fileExisted: boolean): void {
  if (fileExisted) return;
  if (!dirExisted) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  for (const suffix of ["", "-wal", "-shm"]) rmSync(join(dir, `data.db${suffix}`), { force: true });
}

/**
 * `basalt import --in FILE`: loads a dump into an empty data folder (`--dir`) or PostgreSQL database
 * (`--db`) in one transaction, verifies the record counts, and prints a summary; a non-empty target is
 * refused and any error leaves the target as it was.
 */
export async function runImport(opts: ImportOptions): Promise<void> {
  const input = resolve(opts.in);
  const url = opts.db?.trim() ?? "";
  const dir = resolve(opts.dir);
  const dirExisted = existsSync(dir);
  const fileExisted = existsSync(join(dir, "data.db"));
  let db: Database | undefined;
  const progress = progressReporter("import");
  const filesFolder = filesFolderOf(input);
  const storageDir = join(dir, "storage");
  const staging = join(dir, `.storage-import-${process.pid}`);
  let staged: Awaited<ReturnType<typeof stageFiles>> | null = null;
  try {
    if (!existsSync(input) || !statSync(input).isFile())
      throw new BasaltError("BASALT_ERR_TRANSFER_FILE", `${input} is not a file.`);
    const withFiles = existsSync(filesFolder);
    if (withFiles && existsSync(storageDir) && readdirSync(storageDir).length)
      throw new BasaltError("BASALT_ERR_TRANSFER_FILES", `(${storageDir} is not empty)`);
    if (!url) prepareDataDir(dir);
    else if (withFiles) mkdirSync(dir, { recursive: true });
    // the files are staged first (checked against their manifest) and put in place once the records commit
    if (withFiles) staged = await stageFiles(filesFolder, staging);
    db = await openDatabase({ url, sqliteFile: join(dir, "data.db") });
    const lines = createInterface({
      input: createReadStream(input, "utf8"),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    const summary = await importDump(db, lines, progress.update);
    progress.stop();
    await db.close();
    if (staged) await commitStagedFiles(staging, storageDir);
    const to = url ? `PostgreSQL at ${redactDbUrl(url)}` : join(dir, "data.db");
    console.log(`Imported ${describeSummary(summary)} into ${to}; every count matches the dump.`);
    if (staged)
      console.log(`Copied ${staged.files} uploaded files (${staged.bytes} bytes) to ${storageDir}.`);
  } catch (err) {
    progress.stop();
    await db?.close().catch(() => undefined);
    await dropStagedFiles(staging);
    if (!url) removeCreated(dir, dirExisted, fileExisted);
    else if (!dirExisted) rmSync(dir, { recursive: true, force: true });
    fail(err);
  }
}
