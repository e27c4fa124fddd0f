import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FilesFixture, png, setupFiles } from "../harness/fixtures/files.js";
import { startS3, type TestS3 } from "../harness/s3.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";

let s3: TestS3;
let server: TestServer;
let second: TestServer | undefined;
let fx: FilesFixture;
let su = "";

beforeAll(async () => {
  s3 = await startS3();
  server = await startServer();
  fx = await setupFiles(server);
  su = await superuserToken(server);
});
afterAll(async () => {
  await second?.stop();
  await server.stop();
  await s3.stop();
});

function localFiles(): string[] {
  const dir = join(server.dataDir, "storage");
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : [];
}

describe("S3 storage (PocketBase's s3 settings, s3rver on loopback)", () => {
  it("POST /api/settings/test/s3 checks the saved settings; the secret is never shown", async () => {
    const off = await server.fetch("/api/settings/test/s3", {
      method: "POST",
      token: su,
      json: { filesystem: "storage" },
    });
    expect(off.status).toBe(400);
    const missing = await server.fetch("/api/settings", {
      method: "PATCH",
      token: su,
      json: { s3: { enabled: true } },
    });
    expect(missing.status).toBe(400);
    await fx.admin.settings.update({ s3: { ...s3.config, bucket: "no-such-bucket" } });
    const bad = await server.fetch("/api/settings/test/s3", {
      method: "POST",
      token: su,
      json: { filesystem: "storage" },
    });
    expect(bad.status).toBe(400);
    const saved = await fx.admin.settings.update({ s3: s3.config });
    expect(saved.s3).toMatchObject({ enabled: true, bucket: "basalt", secret: "" });
    expect(await fx.admin.settings.testS3("storage")).toBe(true);
    expect(
      (await server.fetch("/api/settings/test/s3", { method: "POST", token: fx.aliceToken, json: {} }))
        .status,
    ).toBe(403);
  });

  it("uploads, downloads (with ranges), thumbnails and deletes through the bucket, nothing on local disk", async () => {
    const bytes = await png(120, 60);
    const rec = await fx.alice.collection("docs").create({
      owner: fx.aliceId,
      avatar: new File([bytes], "pic.png"),
      attachments: [new File(["0123456789"], "digits.txt")],
      secret: new File(["s3 secret"], "s.txt"),
    });
    expect(localFiles()).toEqual([]);
    const url = (name: string, q = "") => `/api/files/docs/${rec.id}/${name}${q}`;
    const img = await server.fetch(url(rec.avatar));
    expect(img.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await img.arrayBuffer())).toEqual(bytes);
    const part = await server.fetch(url(rec.attachments[0]), { headers: { range: "bytes=2-4" } });
    expect([part.status, await part.text()]).toEqual([206, "234"]);
    const thumb = await server.fetch(url(rec.avatar, "?thumb=50x50"));
    expect(await sharp(Buffer.from(await thumb.arrayBuffer())).metadata()).toMatchObject({
      width: 50,
      height: 50,
    });
    const token = await fx.alice.files.getToken();
    expect(await (await server.fetch(url(rec.secret, `?token=${token}`))).text()).toBe("s3 secret");
    expect((await server.fetch(url(rec.secret))).status).toBe(404);

    // a second instance on the same database serves the same files from the bucket
    second = await startServer({ dbUrl: server.basalt.app.config.dbUrl }, { dataDir: server.dataDir });
    const other = await fetch(`${second.url}${url(rec.avatar)}`);
    expect(Buffer.from(await other.arrayBuffer())).toEqual(bytes);
    const otherThumb = await fetch(`${second.url}${url(rec.avatar, "?thumb=50x50")}`);
    expect(otherThumb.status).toBe(200);

    // a replaced file and a deleted record are removed from the bucket after the commit
    const updated = await fx.alice
      .collection("docs")
      .update(rec.id, { avatar: new File([await png()], "new.png") });
    expect((await server.fetch(url(rec.avatar))).status).toBe(404);
    expect(await server.basalt.app.files.storage.exists(`${fx.docsId}/${rec.id}/${rec.avatar}`)).toBe(false);
    expect(await server.basalt.app.files.storage.exists(`${fx.docsId}/${rec.id}/${updated.avatar}`)).toBe(
      true,
    );
    await fx.alice.collection("docs").delete(rec.id);
    const left: string[] = [];
    for await (const k of server.basalt.app.files.storage.list(`${fx.docsId}/${rec.id}/`)) left.push(k);
    expect(left).toEqual([]);
  });
});
