import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FilesFixture, png, setupFiles } from "../harness/fixtures/files.js";
import { startS3, type TestS3 } from "../harness/s3.js";
import { startServer, type TestServer } from "../harness/server.js";

// The SDK's file API end to end (issue 12, item 7), on local storage and on S3 (s3rver on loopback), on
// whichever store this project runs (SQLite or PostgreSQL).
describe.each(["local", "s3"] as const)("files through the SDK, %s storage", (kind) => {
  let s3: TestS3 | undefined;
  let server: TestServer;
  let fx: FilesFixture;

  beforeAll(async () => {
    if (kind === "s3") s3 = await startS3();
    server = await startServer();
    fx = await setupFiles(server);
    if (s3) await fx.admin.settings.update({ s3: s3.config });
  });
  afterAll(async () => {
    await server.stop();
    await s3?.stop();
  });

  /** Every stored key under a prefix (files and thumbnails), in the storage in use. */
  async function keys(prefix: string): Promise<string[]> {
    const out: string[] = [];
    for await (const k of server.basalt.app.files.storage.list(prefix)) out.push(k);
    return out.sort();
  }

  it("uploads FormData and Blobs; getURL with thumb, download and token; getToken", async () => {
    const picture = await png(120, 80);
    const form = new FormData();
    form.append("owner", fx.aliceId);
    form.append("title", `form ${kind}`);
    form.append("avatar", new Blob([picture], { type: "image/png" }), "pic.png");
    form.append("attachments", new Blob(["hello"]), "hello.txt");
    form.append("secret", new File(["top secret"], "s.txt"));
    const rec = await fx.alice.collection("docs").create(form);
    expect(rec.avatar).toMatch(/^pic_[a-z0-9]{10}\.png$/);
    expect(rec.attachments).toHaveLength(1);
    // a plain object with a Blob in it is sent as multipart by the SDK
    const more = await fx.alice.collection("docs").update(rec.id, { "attachments+": new Blob(["more"]) });
    expect(more.attachments).toHaveLength(2);
    const listed = await fx.alice.collection("docs").getFullList({ filter: `id = "${rec.id}"` });
    expect(listed[0].attachments).toEqual(more.attachments);
    expect(await keys(`${fx.docsId}/${rec.id}/`)).toEqual(
      [rec.avatar, rec.secret, ...more.attachments].map((n) => `${fx.docsId}/${rec.id}/${n}`).sort(),
    );

    const url = fx.alice.files.getURL(more, more.avatar);
    expect(url).toBe(`${server.url}/api/files/${fx.docsId}/${rec.id}/${rec.avatar}`);
    const original = await fetch(url);
    expect(original.headers.get("content-type")).toBe("image/png");
    expect(original.headers.get("content-disposition")).toMatch(/^inline;/);
    expect(Buffer.from(await original.arrayBuffer())).toEqual(picture);

    const thumbUrl = fx.alice.files.getURL(more, more.avatar, { thumb: "50x50" });
    expect(thumbUrl).toContain("thumb=50x50");
    for (let i = 0; i < 2; i++) {
      // rendered on the first request, read from storage on the second
      const thumb = Buffer.from(await (await fetch(thumbUrl)).arrayBuffer());
      expect(await sharp(thumb).metadata()).toMatchObject({ width: 50, height: 50, format: "png" });
    }
    expect((await keys(`${fx.docsId}/${rec.id}/thumbs_${rec.avatar}/`)).length).toBe(1);
    // a size the field does not declare serves the original, as PocketBase does
    const undeclared = await fetch(fx.alice.files.getURL(more, more.avatar, { thumb: "77x77" }));
    expect(Buffer.from(await undeclared.arrayBuffer())).toEqual(picture);

    const download = await fetch(fx.alice.files.getURL(more, more.attachments[0], { download: true }));
    expect(download.headers.get("content-disposition")).toBe(`attachment; filename="${more.attachments[0]}"`);
    expect(await download.text()).toBe("hello");

    expect((await fetch(fx.alice.files.getURL(more, more.secret))).status).toBe(404);
    const token = await fx.alice.files.getToken();
    const secret = await fetch(fx.alice.files.getURL(more, more.secret, { token }));
    expect([secret.status, await secret.text()]).toEqual([200, "top secret"]);
    const bobToken = await fx.bob.files.getToken();
    expect((await fetch(fx.bob.files.getURL(more, more.secret, { token: bobToken }))).status).toBe(404);
    await expect(fx.guest.files.getToken()).rejects.toMatchObject({ status: 401 });
  });

  it("truncating a collection removes its files and those of cascaded records, after the commit only", async () => {
    const admin = fx.admin;
    const doc = await fx.alice
      .collection("docs")
      .create({ owner: fx.aliceId, attachments: [new Blob(["d"])], avatar: new Blob([await png()]) });
    await fetch(fx.alice.files.getURL(doc, doc.avatar, { thumb: "50x50" }));
    const note = await admin.collection("notes").create({ doc: doc.id, file: new Blob(["n"]) });
    expect((await keys(`${fx.docsId}/${doc.id}/`)).length).toBe(3);
    expect(await keys(`${fx.notesId}/${note.id}/`)).toEqual([`${fx.notesId}/${note.id}/${note.file}`]);

    // a truncate the database refuses (a required, non-cascading reference) deletes no file
    const pins = await admin.collections.create({
      name: `pins_${kind}`,
      type: "base",
      fields: [
        { name: "doc", type: "relation", collectionId: fx.docsId, maxSelect: 1, required: true },
        { name: "file", type: "file", maxSelect: 1 },
      ],
    });
    const pin = await admin.collection(pins.id).create({ doc: doc.id, file: new Blob(["p"]) });
    await expect(admin.collections.truncate("docs")).rejects.toMatchObject({ status: 400 });
    expect((await keys(`${fx.docsId}/${doc.id}/`)).length).toBe(3);
    expect(await keys(`${fx.notesId}/`)).toEqual([`${fx.notesId}/${note.id}/${note.file}`]);

    // deleting a collection removes its whole folder
    expect(await keys(`${pins.id}/`)).toEqual([`${pins.id}/${pin.id}/${pin.file}`]);
    await admin.collections.delete(pins.id);
    expect(await keys(`${pins.id}/`)).toEqual([]);

    await admin.collections.truncate("docs");
    expect(await keys(`${fx.docsId}/`)).toEqual([]);
    expect(await keys(`${fx.notesId}/`)).toEqual([]);
    await expect(admin.collection("notes").getOne(note.id)).rejects.toMatchObject({ status: 404 });

    // truncating a collection nothing points at (the plain DELETE path) too
    const kept = await admin.collection("notes").create({ file: new Blob(["k"]) });
    expect((await keys(`${fx.notesId}/`)).length).toBe(1);
    await admin.collections.truncate("notes");
    expect(await keys(`${fx.notesId}/`)).toEqual([]);
    expect((await fetch(admin.files.getURL(kept, kept.file))).status).toBe(404);
  });
});
