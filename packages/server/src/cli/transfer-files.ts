import { createReadStream, createWriteStream, existsSync, readdirSync } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { PARAMS_TABLE } from "../core/collections/index.js";
import type { Database } from "../db/index.js";
import { BasaltError } from "../errors/index.js";
import { LocalStorage } from "../files/index.js";

/** The folder beside a dump that holds its files (`dump.ndjson` → `dump.ndjson.files/`). */
export function filesFolderOf(dumpPath: string): string {
  return `${dumpPath}.files`;
}

const MANIFEST = "manifest.json";

/** What a files folder holds, written last by the export and checked by the import. */
interface Manifest {
  files: number;
  bytes: number;
  /** The stored content type of each file, by storage key. */
  types: Record<string, string>;
}

/** The bucket record files live in, when the database's settings keep them in S3; null for local storage. */
export async function s3BucketOf(db: Database): Promise<string | null> {
  const t = db.dialect.quoteIdent;
  const row = await db.get<{ value: unknown }>(
    `SELECT ${t("value")} FROM ${t(PARAMS_TABLE)} WHERE ${t("id")} = ?`,
    ["settings"],
  );
  if (!row) return null;
  try {
    const value = typeof row.value === "string" ? JSON.parse(row.value) : row.value;
    const s3 = (value as { s3?: { enabled?: boolean; bucket?: string } } | null)?.s3;
    return s3?.enabled ? String(s3.bucket ?? "") : null;
  } catch {
    return null;
  }
}

/**
 * Copies every stored original of a data folder's `storage/` (thumbnails are left out: they are rendered
 * again on demand) into `folder`, streaming each file, then writes the manifest.
 */
export async function exportFiles(storageDir: string, folder: string): Promise<Manifest> {
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const manifest: Manifest = { files: 0, bytes: 0, types: {} };
  if (existsSync(storageDir)) {
    const storage = new LocalStorage(storageDir);
    for await (const key of storage.list("")) {
      if (key.split("/").some((segment) => segment.startsWith("thumbs_"))) continue;
      const file = await storage.get(key);
      if (!file) continue;
      const target = join(folder, ...key.split("/"));
      await mkdir(dirname(target), { recursive: true });
      await pipeline(file.stream, createWriteStream(target, { flags: "wx", mode: 0o600 }));
      manifest.types[key] = file.info.contentType;
      manifest.files++;
      manifest.bytes += file.info.size;
    }
  }
  await writeFile(join(folder, MANIFEST), JSON.stringify(manifest), { mode: 0o600 });
  return manifest;
}

/**
 * Loads a files folder into a new storage folder `staging` (beside the target's `storage/`), checking it
 * against its manifest. The caller renames `staging` into place once the database import has committed.
 */
export async function stageFiles(folder: string, staging: string): Promise<Manifest> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(folder, MANIFEST), "utf8")) as Manifest;
  } catch {
    throw new BasaltError("BASALT_ERR_TRANSFER_FILES", `${folder} has no ${MANIFEST} (an incomplete copy?)`);
  }
  await mkdir(staging, { recursive: true });
  const storage = new LocalStorage(staging);
  const seen: Manifest = { files: 0, bytes: 0, types: {} };
  const walk = async (rel: string[]): Promise<void> => {
    for (const entry of readdirSync(join(folder, ...rel), { withFileTypes: true })) {
      if (entry.isDirectory()) await walk([...rel, entry.name]);
      else if (entry.isFile() && rel.length) {
        const path = join(folder, ...rel, entry.name);
        const key = [...rel, entry.name].join("/");
        const size = (await stat(path)).size;
        const type = manifest.types?.[key] ?? "application/octet-stream";
        await storage.put(key, createReadStream(path), { contentType: type, size });
        seen.files++;
        seen.bytes += size;
      }
    }
  };
  await walk([]);
  if (seen.files !== manifest.files || seen.bytes !== manifest.bytes) {
    throw new BasaltError(
      "BASALT_ERR_TRANSFER_FILES",
      `${folder} holds ${seen.files} files (${seen.bytes} bytes), its manifest says ${manifest.files} (${manifest.bytes} bytes)`,
    );
  }
  return seen;
}

/** Moves a staged storage folder into place as the data folder's `storage/`. */
export async function commitStagedFiles(staging: string, storageDir: string): Promise<void> {
  await rename(staging, storageDir);
}

/** Removes a staging folder (after a failed import). */
export async function dropStagedFiles(staging: string): Promise<void> {
  await rm(staging, { recursive: true, force: true });
}
