import { createReadStream, existsSync } from "node:fs";
import { open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { BasaltError } from "../../../errors/index.js";
import { SNIFF_BYTES, type Storage, sniffMime } from "../../../files/index.js";

/** What the file copy found and stored. */
export interface PbFilesSummary {
  files: number;
  bytes: number;
  /** The keys stored. */
  stored: Set<string>;
}

async function head(path: string): Promise<{ head: Buffer; size: number }> {
  const fh = await open(path, "r");
  try {
    const size = (await fh.stat()).size;
    const buf = Buffer.alloc(Math.min(SNIFF_BYTES, size));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return { head: buf.subarray(0, bytesRead), size };
  } catch (err) {
    throw new BasaltError("BASALT_ERR_PB_IMPORT_SOURCE", `(${path}: ${(err as Error).message})`, err);
  } finally {
    await fh.close();
  }
}

async function entries(dir: string) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new BasaltError("BASALT_ERR_PB_IMPORT_SOURCE", `(${dir}: ${(err as Error).message})`, err);
  }
}

/**
 * Copies the uploaded originals of the imported collections from `pb_data/storage/<collectionId>/<recordId>/`
 * into `target`, under the same keys (Basalt lays files out as PocketBase does). Thumbnails (`thumbs_*`,
 * rendered again on demand), PocketBase's `.attrs` side files and anything that is not a plain file
 * (a symbolic link could point outside the folder) are left behind; each file's type is sniffed from its
 * bytes, as for an upload.
 */
export async function copyPocketBaseFiles(
  pbDir: string,
  collectionIds: readonly string[],
  target: Storage,
  onFile: (files: number) => void = () => undefined,
): Promise<PbFilesSummary> {
  const root = join(pbDir, "storage");
  const summary: PbFilesSummary = { files: 0, bytes: 0, stored: new Set() };
  if (existsSync(root)) {
    for (const collectionId of collectionIds) {
      const cdir = join(root, collectionId);
      if (!existsSync(cdir)) continue;
      for (const rec of await entries(cdir)) {
        if (!rec.isDirectory()) continue;
        for (const file of await entries(join(cdir, rec.name))) {
          if (!file.isFile() || file.name.endsWith(".attrs") || file.name.startsWith(".")) continue;
          const key = `${collectionId}/${rec.name}/${file.name}`;
          const path = join(cdir, rec.name, file.name);
          const { head: bytes, size } = await head(path);
          const type = (await sniffMime(bytes)).mime;
          try {
            await target.put(key, createReadStream(path), { contentType: type, size });
          } catch (err) {
            throw new BasaltError("BASALT_ERR_PB_IMPORT_FILES", `(${key}: ${(err as Error).message})`, err);
          }
          summary.stored.add(key);
          summary.files++;
          summary.bytes += size;
          onFile(summary.files);
        }
      }
    }
  }
  return summary;
}
