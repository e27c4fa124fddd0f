import { existsSync, readdirSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FilesFixture, setupFiles } from "../harness/fixtures/files.js";
import { startServer, type TestServer } from "../harness/server.js";

let server: TestServer;
let fx: FilesFixture;

// 1 MiB: the docs collection then takes 1 MiB + its file fields' maxSize × maxSelect (about 7.2 MiB)
const BODY_LIMIT = 1 << 20;
const CHUNK = Buffer.alloc(64 * 1024, "x");
/** What each streamed request would send in full: far beyond every limit. */
const TOTAL = 256 << 20;

beforeAll(async () => {
  server = await startServer({ bodyLimit: BODY_LIMIT });
  fx = await setupFiles(server);
});
afterAll(() => server.stop());

interface Outcome {
  status: number;
  body: string;
  /** Bytes written when the answer arrived. */
  sentAtAnswer: number;
  /** Whether the server closed the connection after answering (instead of reading on). */
  closedByServer: boolean;
}

/**
 * POSTs a chunked multipart body (no Content-Length, so only the bytes themselves can trip a limit) made of
 * `head`, then as many `CHUNK`s as it takes to reach TOTAL, writing only as fast as the server reads. Stops
 * writing when the answer arrives, as browsers do, then waits up to 10 s for the server to close.
 */
function streamUpload(path: string, head: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(`${server.url}${path}`, {
      method: "POST",
      headers: {
        authorization: fx.aliceToken,
        "content-type": "multipart/form-data; boundary=BOUNDARY",
        "transfer-encoding": "chunked",
      },
    });
    req.on("error", (err) => {
      if (!answered) reject(err);
    });
    req.on("response", (res) => {
      answered = true;
      const sentAtAnswer = sent;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const outcome = (closedByServer: boolean) => ({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          sentAtAnswer,
          closedByServer,
        });
        const socket = req.socket;
        if (!socket || socket.destroyed || socket.readableEnded) return resolve(outcome(true));
        const timer = setTimeout(() => {
          resolve(outcome(false));
          req.destroy();
        }, 10_000);
        socket.once("close", () => {
          clearTimeout(timer);
          resolve(outcome(true));
        });
      });
    });
    const write = () => {
      while (!answered && sent < TOTAL) {
        sent += CHUNK.length;
        if (!req.write(CHUNK)) return void req.once("drain", write);
      }
      if (!answered) req.end("\r\n--BOUNDARY--\r\n");
    };
    req.write(head);
    write();
  });
}

function part(name: string, filename?: string): string {
  const disposition = filename ? `; filename="${filename}"` : "";
  return `--BOUNDARY\r\ncontent-disposition: form-data; name="${name}"${disposition}\r\n\r\n`;
}

function spoolEntries(): string[] {
  const spool = join(server.dataDir, ".tmp", "uploads");
  return existsSync(spool) ? readdirSync(spool) : [];
}

async function storedKeys(): Promise<string[]> {
  const out: string[] = [];
  for await (const k of server.basalt.app.files.storage.list(`${fx.docsId}/`)) out.push(k);
  return out;
}

describe("limits enforced as the bytes arrive (streamed, no Content-Length)", () => {
  it("a file over its field's maxSize: 400 naming the field, long before the body ends; nothing stored", async () => {
    const before = await storedKeys();
    const head = `${part("owner")}${fx.aliceId}\r\n${part("attachments", "huge.bin")}`;
    const out = await streamUpload("/api/collections/docs/records", head);
    expect(out.status).toBe(400);
    const body = JSON.parse(out.body) as { data: Record<string, { code: string }> };
    expect(body.data.attachments.code).toBe("validation_file_size_limit");
    // the answer came after about maxSize (64 KiB) plus what sat in the socket buffers, not after 256 MiB
    expect(out.sentAtAnswer).toBeLessThan(TOTAL / 4);
    // and the server does not read the rest: it closes the connection
    expect(out.closedByServer).toBe(true);
    expect(await storedKeys()).toEqual(before);
    await expect.poll(spoolEntries, { timeout: 5000 }).toEqual([]);
  });

  it("a body over the limit (text parts, each small): 413 as soon as it is over; nothing stored", async () => {
    const before = await storedKeys();
    // small text parts one after another: no single part is large, only their sum
    const partOf = (i: number) => `${part(`f${i}`)}${"y".repeat(8 * 1024)}\r\n`;
    let head = `${part("owner")}${fx.aliceId}\r\n`;
    for (let i = 0; i < 900; i++) head += partOf(i);
    const out = await streamUpload("/api/collections/docs/records", head);
    expect(out.status).toBe(413);
    expect(out.sentAtAnswer).toBeLessThan(TOTAL / 4);
    expect(out.closedByServer).toBe(true);
    expect(await storedKeys()).toEqual(before);
    await expect.poll(spoolEntries, { timeout: 5000 }).toEqual([]);
  });

  it("a file part that fits its field but not the body limit: 413; the part spooled so far is removed", async () => {
    const before = await storedKeys();
    // secret: default maxSize 5 MiB; the whole body may be about 7.2 MiB
    const head = `${part("owner")}${fx.aliceId}\r\n${part("secret", "a.bin")}${"z".repeat(4 << 20)}\r\n${part("avatar", "b.png")}`;
    const out = await streamUpload("/api/collections/docs/records", head);
    expect([400, 413]).toContain(out.status);
    expect(out.sentAtAnswer).toBeLessThan(TOTAL / 4);
    expect(out.closedByServer).toBe(true);
    expect(await storedKeys()).toEqual(before);
    await expect.poll(spoolEntries, { timeout: 5000 }).toEqual([]);
  });

  it("the server still serves uploads afterwards", async () => {
    const rec = await fx.alice
      .collection("docs")
      .create({ owner: fx.aliceId, attachments: [new Blob(["ok"])] });
    expect(rec.attachments).toHaveLength(1);
  });
});
