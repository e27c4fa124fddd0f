import { createReadStream, createWriteStream } from "node:fs";
import {
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  writeFile,
} from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { randomString } from "../util/index.js";
import {
  type ByteRange,
  checkKey,
  type PutOptions,
  type Storage,
  type StoredFile,
  type StoredFileInfo,
} from "./storage.js";

interface Attrs {
  contentType: string;
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/**
 * Files in a folder (the data folder's `storage/`, as PocketBase's `pb_data/storage`): each object is a file
 * at its key's path, with its content type in a hidden `.<name>.attrs` file beside it. Writes go to a hidden
 * temporary file renamed into place, so a reader never sees half an upload.
 */
export class LocalStorage implements Storage {
  constructor(private readonly root: string) {}

  private path(key: string): string {
    checkKey(key);
    return join(this.root, ...key.split("/"));
  }

  private attrsPath(path: string): string {
    const dir = dirname(path);
    return join(dir, `.${path.slice(dir.length + 1)}.attrs`);
  }

  async put(key: string, body: Readable, opts: PutOptions): Promise<void> {
    const path = this.path(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = join(dirname(path), `.${randomString(12)}.tmp`);
    try {
      // a spooled upload on the same file system is linked, not copied (one write of its bytes, not two)
      if (
        opts.sourcePath &&
        (await link(opts.sourcePath, tmp).then(
          () => true,
          () => false,
        ))
      )
        body.destroy();
      else await pipeline(body, createWriteStream(tmp, { flags: "wx" }));
      const attrs: Attrs = { contentType: opts.contentType };
      await writeFile(this.attrsPath(path), JSON.stringify(attrs));
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  private async readAttrs(path: string): Promise<Attrs> {
    try {
      const parsed = JSON.parse(await readFile(this.attrsPath(path), "utf8")) as Partial<Attrs>;
      return { contentType: String(parsed.contentType || "application/octet-stream") };
    } catch {
      return { contentType: "application/octet-stream" };
    }
  }

  async get(key: string, range?: ByteRange): Promise<StoredFile | null> {
    const path = this.path(key);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, "r");
    } catch (err) {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === "EISDIR") return null;
      throw err;
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) {
        await handle.close();
        return null;
      }
      const attrs = await this.readAttrs(path);
      const stream = createReadStream(path, {
        fd: handle,
        start: range?.start,
        end: range?.end,
        autoClose: true,
      });
      return { info: { size: st.size, modified: st.mtime, contentType: attrs.contentType }, stream };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async stat(key: string): Promise<StoredFileInfo | null> {
    const path = this.path(key);
    try {
      const st = await stat(path);
      if (!st.isFile()) return null;
      const attrs = await this.readAttrs(path);
      return { size: st.size, modified: st.mtime, contentType: attrs.contentType };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== null;
  }

  async delete(key: string): Promise<void> {
    const path = this.path(key);
    await rm(this.attrsPath(path), { force: true });
    try {
      await unlink(path);
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    // drop folders the delete left empty (a record's folder once its last file is gone)
    let dir = dirname(path);
    while (dir.length > this.root.length && dir.startsWith(this.root)) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
      dir = dirname(dir);
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!prefix.endsWith("/") || prefix === "/") throw new Error("a prefix to delete must be a folder");
    checkKey(prefix, { prefix: true });
    await rm(join(this.root, ...prefix.slice(0, -1).split("/")), { recursive: true, force: true });
  }

  async *list(prefix: string): AsyncIterable<string> {
    checkKey(prefix, { prefix: true });
    const base = prefix.endsWith("/") || prefix === "" ? prefix : `${prefix}/`;
    const stack = [base];
    while (stack.length) {
      const rel = stack.pop() as string;
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(join(this.root, ...rel.split("/").filter(Boolean)), { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) continue;
        throw err;
      }
      for (const e of entries) {
        if (e.name.startsWith(".")) continue;
        if (e.isDirectory()) stack.push(`${rel}${e.name}/`);
        else if (e.isFile()) yield `${rel}${e.name}`;
      }
    }
  }

  async close(): Promise<void> {}
}
