import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FilesFixture, png, setupFiles } from "../harness/fixtures/files.js";
import { startServer, type TestServer } from "../harness/server.js";

let server: TestServer;
let fx: FilesFixture;
let doc: { id: string; avatar: string; attachments: string[]; secret: string };

const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

function fileUrl(name: string, query = ""): string {
  return `/api/files/docs/${doc.id}/${name}${query}`;
}

beforeAll(async () => {
  server = await startServer();
  fx = await setupFiles(server);
  doc = (await fx.alice.collection("docs").create({
    owner: fx.aliceId,
    avatar: new File([await png()], "pic.png"),
    attachments: [
      new File(["<!doctype html><script>alert(1)</script>"], "page.html"),
      new File(['<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'], "x.svg"),
      new File([bytes], "data.bin"),
    ],
    secret: new File(["top secret"], "secret.txt"),
  })) as never;
});
afterAll(() => server.stop());

describe("GET /api/files/{collection}/{recordId}/{filename}", () => {
  it("serves an image inline with validators and PocketBase's caching", async () => {
    const res = await server.fetch(fileUrl(doc.avatar));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("content-disposition")).toBe(`inline; filename="${doc.avatar}"`);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-security-policy")).toContain("sandbox");
    expect(res.headers.get("cache-control")).toBe("max-age=2592000, stale-while-revalidate=86400");
    expect(Buffer.from(await res.arrayBuffer())).toEqual(await fileBytes(doc.avatar));
    const etag = res.headers.get("etag") as string;
    const lastModified = res.headers.get("last-modified") as string;
    expect(etag).toMatch(/^W\/"/);
    expect((await server.fetch(fileUrl(doc.avatar), { headers: { "if-none-match": etag } })).status).toBe(
      304,
    );
    expect(
      (await server.fetch(fileUrl(doc.avatar), { headers: { "if-modified-since": lastModified } })).status,
    ).toBe(304);
    // by collection id as well as name
    expect((await server.fetch(`/api/files/${fx.docsId}/${doc.id}/${doc.avatar}`)).status).toBe(200);
  });

  it("?download=1 forces an attachment", async () => {
    const res = await server.fetch(fileUrl(doc.avatar, "?download=1"));
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="${doc.avatar}"`);
  });

  it("never serves active content inline: HTML and SVG are attachments, sandboxed, nosniff", async () => {
    for (const name of doc.attachments.slice(0, 2)) {
      const res = await server.fetch(fileUrl(name));
      expect(res.status).toBe(200);
      expect(res.headers.get("content-disposition")).toMatch(/^attachment;/);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("content-security-policy")).toBe(
        "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox",
      );
    }
    expect((await server.fetch(fileUrl(doc.attachments[0]))).headers.get("content-type")).toMatch(
      /^text\/html/,
    );
    expect((await server.fetch(fileUrl(doc.attachments[1]))).headers.get("content-type")).toBe(
      "image/svg+xml",
    );
  });

  it("answers Range requests (206, suffix and open ranges) and 416 beyond the end", async () => {
    const name = doc.attachments[2];
    const part = await server.fetch(fileUrl(name), { headers: { range: "bytes=10-19" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 10-19/1000");
    expect(Buffer.from(await part.arrayBuffer())).toEqual(bytes.subarray(10, 20));
    const suffix = await server.fetch(fileUrl(name), { headers: { range: "bytes=-5" } });
    expect(Buffer.from(await suffix.arrayBuffer())).toEqual(bytes.subarray(995));
    const open = await server.fetch(fileUrl(name), { headers: { range: "bytes=990-" } });
    expect(open.headers.get("content-range")).toBe("bytes 990-999/1000");
    const beyond = await server.fetch(fileUrl(name), { headers: { range: "bytes=5000-" } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get("content-range")).toBe("bytes */1000");
    expect(await server.fetch(fileUrl(name)).then((r) => r.headers.get("accept-ranges"))).toBe("bytes");
  });

  it("404s an unknown collection, record, or a name the record does not hold", async () => {
    expect((await server.fetch(`/api/files/nope/${doc.id}/${doc.avatar}`)).status).toBe(404);
    expect((await server.fetch(`/api/files/docs/xxxxxxxxxxxxxxx/${doc.avatar}`)).status).toBe(404);
    expect((await server.fetch(fileUrl("other.png"))).status).toBe(404);
    expect((await server.fetch(fileUrl("..%2F..%2Fdata.db"))).status).toBe(404);
  });
});

describe("protected files and file tokens", () => {
  it("needs ?token= of a caller the view rule admits; an auth token is not a file token and vice versa", async () => {
    expect((await server.fetch(fileUrl(doc.secret))).status).toBe(404);
    expect((await server.fetch(fileUrl(doc.secret, `?token=${fx.aliceToken}`))).status).toBe(404);
    const aliceFileToken = await fx.alice.files.getToken();
    const ok = await server.fetch(fileUrl(doc.secret, `?token=${aliceFileToken}`));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("top secret");
    expect(ok.headers.get("cache-control")).toContain("no-store");
    const bobFileToken = await fx.bob.files.getToken();
    expect((await server.fetch(fileUrl(doc.secret, `?token=${bobFileToken}`))).status).toBe(404);
    // a file token never authenticates an API call
    const refresh = await server.fetch("/api/collections/users/auth-refresh", {
      method: "POST",
      token: aliceFileToken,
    });
    expect(refresh.status).toBe(401);
    // a guest gets no file token
    expect((await server.fetch("/api/files/token", { method: "POST" })).status).toBe(401);
    // a superuser's file token reads it too
    expect(
      (await server.fetch(fileUrl(doc.secret, `?token=${await fx.admin.files.getToken()}`))).status,
    ).toBe(200);
  });

  it('the view rule sees @request.context = "protectedFile"', async () => {
    await fx.admin.collections.update("docs", {
      viewRule: 'owner = @request.auth.id && @request.context = "protectedFile"',
    });
    const token = await fx.alice.files.getToken();
    expect((await server.fetch(fileUrl(doc.secret, `?token=${token}`))).status).toBe(200);
    await fx.admin.collections.update("docs", {
      viewRule: 'owner = @request.auth.id && @request.context = "default"',
    });
    expect((await server.fetch(fileUrl(doc.secret, `?token=${token}`))).status).toBe(404);
    await fx.admin.collections.update("docs", { viewRule: "owner = @request.auth.id" });
  });

  it("a file token stops working when its user changes password (its token key changes)", async () => {
    const token = await fx.alice.files.getToken();
    expect((await server.fetch(fileUrl(doc.secret, `?token=${token}`))).status).toBe(200);
    await fx.admin
      .collection("users")
      .update(fx.aliceId, { password: "new-password-123", passwordConfirm: "new-password-123" });
    expect((await server.fetch(fileUrl(doc.secret, `?token=${token}`))).status).toBe(404);
  });
});

async function fileBytes(name: string): Promise<Buffer> {
  return readFileSync(join(server.dataDir, "storage", fx.docsId, doc.id, name));
}
