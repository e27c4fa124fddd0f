import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalStorage, S3Storage, type Storage, type StoredFile } from "../../src/files/index.js";
import { startS3 } from "../harness/s3.js";

// The Storage contract every driver implements (issue 12): one suite, run on each driver.

/** The local driver's folder (to look at its files on disk). */
let localRoot = "";

interface Driver {
  readonly name: string;
  open(): Promise<{ storage: Storage; close(): Promise<void> }>;
}

const drivers: Driver[] = [
  {
    name: "local",
    async open() {
      const dir = mkdtempSync(join(tmpdir(), "basalt-storage-"));
      localRoot = join(dir, "storage");
      const storage = new LocalStorage(localRoot);
      return { storage, close: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: "s3 (s3rver)",
    async open() {
      const s3 = await startS3();
      return { storage: new S3Storage(s3.config), close: () => s3.stop() };
    },
  },
];

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of it) out.push(k);
  return out.sort();
}

for (const driver of drivers) {
  describe(`Storage conformance: ${driver.name}`, () => {
    let storage: Storage;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ storage, close } = await driver.open());
    });
    afterAll(async () => {
      await storage.close();
      await close();
    });

    it("put streams an object that get, stat and exists then see", async () => {
      await storage.put("c1/r1/a.txt", Readable.from([Buffer.from("hello "), Buffer.from("world")]), {
        contentType: "text/plain; charset=utf-8",
      });
      expect(await storage.exists("c1/r1/a.txt")).toBe(true);
      const info = await storage.stat("c1/r1/a.txt");
      expect(info).toMatchObject({ size: 11, contentType: "text/plain; charset=utf-8" });
      expect(info?.modified).toBeInstanceOf(Date);
      const got = await storage.get("c1/r1/a.txt");
      expect(got?.info.size).toBe(11);
      expect(await text(got?.stream as Readable)).toBe("hello world");
    });

    it("put with a sourcePath stores that file's bytes (linked by the local driver, streamed otherwise)", async () => {
      const dir = mkdtempSync(join(tmpdir(), "basalt-spool-"));
      try {
        const source = join(dir, "spooled");
        writeFileSync(source, "spooled bytes");
        await storage.put("c1/r2/s.bin", createReadStream(source), {
          contentType: "application/octet-stream",
          size: 13,
          sourcePath: source,
        });
        const got = await storage.get("c1/r2/s.bin");
        expect(await text(got?.stream as Readable)).toBe("spooled bytes");
        // a source that is gone (or on another file system) falls back to the stream
        await storage.put("c1/r2/t.bin", Readable.from([Buffer.from("streamed")]), {
          contentType: "application/octet-stream",
          sourcePath: join(dir, "missing"),
        });
        expect(await text((await storage.get("c1/r2/t.bin"))?.stream as Readable)).toBe("streamed");
        if (storage instanceof LocalStorage) {
          // one copy of the bytes on disk: the stored file is the spool file's inode
          expect(statSync(join(localRoot, "c1", "r2", "s.bin")).ino).toBe(statSync(source).ino);
        }
        await storage.deletePrefix("c1/r2/");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("reads byte ranges (inclusive)", async () => {
      const got = await storage.get("c1/r1/a.txt", { start: 6, end: 10 });
      expect(await text(got?.stream as Readable)).toBe("world");
      const first = await storage.get("c1/r1/a.txt", { start: 0, end: 0 });
      expect(await text(first?.stream as Readable)).toBe("h");
    });

    it("answers null/false for what is not there", async () => {
      expect(await storage.get("c1/r1/missing.txt")).toBeNull();
      expect(await storage.stat("c1/r1/missing.txt")).toBeNull();
      expect(await storage.exists("c1/r1/missing.txt")).toBe(false);
      expect(await storage.stat("c1/r1")).toBeNull();
      await storage.delete("c1/r1/missing.txt"); // not an error
    });

    it("overwrites an object whole", async () => {
      await storage.put("c1/r1/b.bin", Readable.from([Buffer.alloc(100, 1)]), {
        contentType: "application/octet-stream",
      });
      await storage.put("c1/r1/b.bin", Readable.from([Buffer.alloc(10, 2)]), { contentType: "image/png" });
      const info = await storage.stat("c1/r1/b.bin");
      expect(info).toMatchObject({ size: 10, contentType: "image/png" });
    });

    it("a failed upload leaves no object behind", async () => {
      const failing = new Readable({
        read() {
          this.push(Buffer.alloc(1000));
          this.destroy(new Error("client went away"));
        },
      });
      await expect(
        storage.put("c1/r1/broken.bin", failing, { contentType: "application/octet-stream" }),
      ).rejects.toThrow();
      expect(await storage.exists("c1/r1/broken.bin")).toBe(false);
      expect(await collect(storage.list("c1/r1/"))).not.toContain("c1/r1/broken.bin");
    });

    it("streams a larger object (several MiB) intact", async () => {
      const chunk = Buffer.alloc(1 << 20);
      for (let i = 0; i < chunk.length; i++) chunk[i] = i % 253;
      async function* chunks() {
        for (let i = 0; i < 6; i++) yield chunk;
      }
      await storage.put("c2/r9/big.bin", Readable.from(chunks()), {
        contentType: "application/octet-stream",
      });
      expect((await storage.stat("c2/r9/big.bin"))?.size).toBe(6 << 20);
      const tail = await storage.get("c2/r9/big.bin", { start: (6 << 20) - 3, end: (6 << 20) - 1 });
      const got: Buffer[] = [];
      for await (const c of (tail as StoredFile).stream) got.push(c as Buffer);
      expect([...Buffer.concat(got)]).toEqual([
        chunk[(1 << 20) - 3],
        chunk[(1 << 20) - 2],
        chunk[(1 << 20) - 1],
      ]);
    });

    it("lists keys under a prefix, and deletePrefix removes a whole folder", async () => {
      await storage.put("c3/r1/x.txt", Readable.from(["x"]), { contentType: "text/plain" });
      await storage.put("c3/r1/thumbs_x.png/10x10_x.png", Readable.from(["t"]), { contentType: "image/png" });
      await storage.put("c3/r2/y.txt", Readable.from(["y"]), { contentType: "text/plain" });
      expect(await collect(storage.list("c3/"))).toEqual([
        "c3/r1/thumbs_x.png/10x10_x.png",
        "c3/r1/x.txt",
        "c3/r2/y.txt",
      ]);
      await storage.deletePrefix("c3/r1/");
      expect(await collect(storage.list("c3/"))).toEqual(["c3/r2/y.txt"]);
      await storage.delete("c3/r2/y.txt");
      expect(await collect(storage.list("c3/"))).toEqual([]);
    });

    it("refuses keys that could escape the root", async () => {
      for (const key of ["../x", "c1/../../x", "/abs", "c1//x", "c1/.hidden", "c1\\x", "c1/x\0"]) {
        await expect(storage.put(key, Readable.from(["x"]), { contentType: "text/plain" })).rejects.toThrow();
        await expect(storage.get(key)).rejects.toThrow();
      }
      await expect(storage.deletePrefix("")).rejects.toThrow();
    });
  });
}
