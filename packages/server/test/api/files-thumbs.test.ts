import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { crc32, deflateSync } from "node:zlib";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FilesFixture, png, setupFiles } from "../harness/fixtures/files.js";
import { startServer, type TestServer } from "../harness/server.js";

let server: TestServer;
let fx: FilesFixture;

async function upload(bytes: Buffer, name: string): Promise<{ id: string; avatar: string }> {
  return (await fx.alice
    .collection("docs")
    .create({ owner: fx.aliceId, avatar: new File([bytes], name) })) as never;
}

async function thumb(rec: { id: string; avatar: string }, size: string) {
  const res = await server.fetch(`/api/files/docs/${rec.id}/${rec.avatar}?thumb=${size}`);
  const body = Buffer.from(await res.arrayBuffer());
  return { res, body, meta: await sharp(body).metadata() };
}

/** A PNG whose header claims huge dimensions over a few bytes of compressed rows (a decompression bomb). */
function pngClaiming(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const rows = deflateSync(Buffer.alloc(64 * 1024));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", rows),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

beforeAll(async () => {
  server = await startServer();
  fx = await setupFiles(server);
});
afterAll(() => server.stop());

describe("?thumb= with sharp", () => {
  it("renders each declared size format once, kept in storage beside the original", async () => {
    const rec = await upload(await png(200, 100), "wide.png");
    const cases: [string, number, number][] = [
      ["50x50", 50, 50],
      ["40x20t", 40, 20],
      ["40x20b", 40, 20],
      ["30x30f", 30, 15],
      ["0x20", 40, 20],
      ["20x0", 20, 10],
      ["100x100", 100, 100], // PocketBase's default size, always offered
    ];
    for (const [size, w, h] of cases) {
      const { res, meta } = await thumb(rec, size);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/png");
      expect([size, meta.width, meta.height]).toEqual([size, w, h]);
    }
    const dir = join(server.dataDir, "storage", fx.docsId, rec.id, `thumbs_${rec.avatar}`);
    expect(
      readdirSync(dir)
        .filter((n) => !n.startsWith("."))
        .sort(),
    ).toEqual(cases.map(([s]) => `${s}_${rec.avatar}`).sort());
  });

  it("serves the original for a size the field does not declare", async () => {
    const rec = await upload(await png(200, 100), "wide.png");
    const { meta } = await thumb(rec, "77x77");
    expect([meta.width, meta.height]).toEqual([200, 100]);
    expect(existsSync(join(server.dataDir, "storage", fx.docsId, rec.id, `thumbs_${rec.avatar}`))).toBe(
      false,
    );
  });

  it("concurrent first requests share one rendering and all get the thumb", async () => {
    const rec = await upload(await png(300, 300), "square.png");
    const all = await Promise.all(Array.from({ length: 8 }, () => thumb(rec, "50x50")));
    for (const t of all) expect([t.res.status, t.meta.width, t.meta.height]).toEqual([200, 50, 50]);
    const dir = join(server.dataDir, "storage", fx.docsId, rec.id, `thumbs_${rec.avatar}`);
    expect(readdirSync(dir).filter((n) => !n.startsWith("."))).toEqual([`50x50_${rec.avatar}`]);
  });

  it("thumbnails WebP and AVIF sources in their own format", async () => {
    const base = sharp({ create: { width: 120, height: 80, channels: 3, background: "#3366aa" } });
    const webp = await upload(await base.clone().webp().toBuffer(), "p.webp");
    const w = await thumb(webp, "50x50");
    expect([w.res.headers.get("content-type"), w.meta.format, w.meta.width]).toEqual([
      "image/webp",
      "webp",
      50,
    ]);
    const avif = await upload(await base.clone().avif().toBuffer(), "p.avif");
    const a = await thumb(avif, "20x0");
    expect(a.res.headers.get("content-type")).toBe("image/avif");
    expect([a.meta.width, a.meta.height]).toEqual([20, 13]);
  });

  it("a decompression bomb (a tiny file of huge dimensions) gets no thumb: the original is served", async () => {
    const bomb = pngClaiming(30000, 30000);
    expect(bomb.length).toBeLessThan(1 << 20);
    const rec = await upload(bomb, "bomb.png");
    const res = await server.fetch(`/api/files/docs/${rec.id}/${rec.avatar}?thumb=50x50`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).length).toBe(bomb.length);
  });
});
