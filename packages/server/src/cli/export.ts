import { chmodSync, createWriteStream, existsSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { exportDump } from "../core/transfer/index.js";
import { type Database, openDatabase } from "../db/index.js";
import { BasaltError } from "../errors/index.js";
import { fail } from "./fail.js";
import { progressReporter } from "./progress.js";
import { exportFiles, filesFolderOf, s3BucketOf } from "./transfer-files.js";
import { describeSummary, redactDbUrl } from "./transfer-summary.js";

/** The options `basalt export` parses. */
export interface ExportOptions {
  out: string;
  dir: string;
  /** A PostgreSQL URL to export from; absent exports the SQLite database of `dir`. */
  db?: string;
}

/** Opens a dump file for writing: new, readable by its owner only, written line by line with backpressure. */
function openDumpFile(path: string) {
  const stream = createWriteStream(path, { flags: "wx", mode: 0o600 });
  let failure: Error | null = null;
  stream.on("error", (err) => {
    failure = err;
  });
  const write = (line: string) =>
    new Promise<void>((ok, ko) => {
      if (failure) return ko(failure);
      if (stream.write(`${line}\n`)) return ok();
      const onError = (err: Error) => ko(err);
      stream.once("error", onError);
      stream.once("drain", () => {
        stream.off("error", onError);
        ok();
      });
    });
  const close = () =>
    new Promise<void>((ok, ko) => {
      if (failure) return ko(failure);
      stream.once("error", ko);
      stream.end(() => ok());
    });
  return { write, close, destroy: () => stream.destroy() };
}

/**
 * `basalt export --out FILE`: writes the collections (with their options and token secrets), settings and
 * records of the data folder (or `--db`) to a new NDJSON dump created with mode 0600, since it holds
 * password hashes and secrets.
 */
export async function runExport(opts: ExportOptions): Promise<void> {
  const out = resolve(opts.out);
  const partial = `${out}.partial-${process.pid}`;
  const partialFiles = filesFolderOf(partial);
  let db: Database | undefined;
  let file: ReturnType<typeof openDumpFile> | undefined;
  const progress = progressReporter("export");
  try {
    for (const path of [out, filesFolderOf(out)]) {
      if (existsSync(path))
        throw new BasaltError(
          "BASALT_ERR_TRANSFER_FILE",
          `${path} already exists; remove it or choose another --out.`,
        );
    }
    const url = opts.db?.trim() ?? "";
    const sqliteFile = join(resolve(opts.dir), "data.db");
    if (!url && !existsSync(sqliteFile))
      throw new BasaltError("BASALT_ERR_TRANSFER_NO_SOURCE", `(no ${sqliteFile})`);
    db = await openDatabase({ url, sqliteFile });
    file = openDumpFile(partial);
    const summary = await exportDump(db, file.write, progress.update);
    await file.close();
    chmodSync(partial, 0o600);
    // record files: the data folder's storage/ is copied beside the dump; a bucket is left where it is
    const bucket = await s3BucketOf(db);
    const files =
      bucket === null ? await exportFiles(join(resolve(opts.dir), "storage"), partialFiles) : null;
    if (files) renameSync(partialFiles, filesFolderOf(out));
    renameSync(partial, out);
    progress.stop();
    await db.close();
    const from = url ? `PostgreSQL at ${redactDbUrl(url)}` : sqliteFile;
    console.log(`Exported ${describeSummary(summary)} from ${from} to ${out}.`);
    if (files)
      console.log(`Copied ${files.files} uploaded files (${files.bytes} bytes) to ${filesFolderOf(out)}.`);
    else
      console.log(
        `Uploaded files stay in the S3 bucket ${bucket}: the dump's settings keep pointing at it, nothing was copied.`,
      );
    console.log(
      "The dump holds password hashes, token keys and token secrets: it was created readable by you only (mode 0600); keep it as safe as the database.",
    );
  } catch (err) {
    progress.stop();
    file?.destroy();
    rmSync(partial, { force: true });
    rmSync(partialFiles, { recursive: true, force: true });
    await db?.close().catch(() => undefined);
    fail(err);
  }
}
