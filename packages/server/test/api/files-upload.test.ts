import { existsSync, readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordEvent } from "../../src/core/events.js";
import { type FilesFixture, png, setupFiles } from "../harness/fixtures/files.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";

let server: TestServer;
let fx: FilesFixture;
let su = "";
const events: RecordEvent[] = [];

const NAME_RE = (base: string, ext: string) => new RegExp(`^${base}_[a-z0-9]{10}\\${ext}$`);

function stored(...parts: string[]): string {
  return join(server.dataDir, "storage", ...parts);
}

/** Names of the files (not the hidden bookkeeping) in a record's storage folder. */
function filesOf(collectionId: string, recordId: string): string[] {
  const dir = stored(collectionId, recordId);
  return existsSync(dir)
    ? readdirSync(dir).filter((n) => !n.startsWith(".") && !n.startsWith("thumbs_"))
    : [];
}

function text(content: string, name: string): File {
  return new File([content], name, { type: "text/plain" });
}

beforeAll(async () => {
  server = await startServer();
  fx = await setupFiles(server);
  su = await superuserToken(server);
  server.basalt.app.events.on("record", (e) => events.push(e));
});
afterAll(() => server.stop());

describe("uploads with the SDK (FormData and Blob in Node)", () => {
  it("stores files under storage/<collectionId>/<recordId>/ with normalised, random-suffixed names", async () => {
    const rec = await fx.alice.collection("docs").create({
      title: "first",
      owner: fx.aliceId,
      avatar: new Blob([await png()], { type: "image/png" }),
      attachments: [text("hello world", "My Report.TXT"), text("second", "../../etc/passwd")],
    });
    expect(rec.avatar).toMatch(NAME_RE("blob", ".png")); // FormData names a bare Blob "blob"
    expect(rec.attachments).toHaveLength(2);
    expect(rec.attachments[0]).toMatch(NAME_RE("my_report", ".TXT"));
    expect(rec.attachments[1]).toMatch(NAME_RE("passwd", ".txt")); // the extension of its sniffed type
    for (const name of [rec.avatar, ...rec.attachments]) {
      expect(name).not.toMatch(/[/\\]|^\./);
    }
    expect(filesOf(fx.docsId, rec.id).sort()).toEqual([rec.avatar, ...rec.attachments].sort());
    expect(readFileSync(stored(fx.docsId, rec.id, rec.attachments[0]), "utf8")).toBe("hello world");
    // the same names in a view, a list, the committed event (realtime) and an expand
    const view = await fx.alice.collection("docs").getOne(rec.id);
    expect(view.attachments).toEqual(rec.attachments);
    const event = events.find((e) => e.action === "create" && e.record.id === rec.id);
    expect(JSON.parse(String(event?.record.attachments))).toEqual(rec.attachments);
    const note = await fx.admin.collection("notes").create({ doc: rec.id }, { expand: "doc" });
    expect(note.expand?.doc.avatar).toBe(rec.avatar);
  });

  it("sniffs the MIME type from the bytes: a text file named .png is refused by mimeTypes", async () => {
    const err = await fx.alice
      .collection("docs")
      .create({ owner: fx.aliceId, avatar: new File(["<html><script>1</script>"], "fake.png") })
      .catch((e) => e);
    expect(err.status).toBe(400);
    expect(err.response.data.avatar.code).toBe("validation_invalid_mime_type");
  });

  it("`attachments+` appends, `+attachments` prepends, `attachments-` removes (deleted after the commit)", async () => {
    const rec = await fx.alice
      .collection("docs")
      .create({ owner: fx.aliceId, attachments: [text("a", "a.txt")] });
    const appended = await fx.alice.collection("docs").update(rec.id, { "attachments+": text("b", "b.txt") });
    expect(appended.attachments).toHaveLength(2);
    expect(appended.attachments[0]).toBe(rec.attachments[0]);
    expect(appended.attachments[1]).toMatch(NAME_RE("b[a-z0-9]{10}", ".txt"));
    const prepended = await fx.alice
      .collection("docs")
      .update(rec.id, { "+attachments": text("c", "ccc.txt") });
    expect(prepended.attachments[0]).toMatch(NAME_RE("ccc", ".txt"));
    expect(prepended.attachments.slice(1)).toEqual(appended.attachments);
    const removed = await fx.alice
      .collection("docs")
      .update(rec.id, { "attachments-": [rec.attachments[0]] });
    expect(removed.attachments).toEqual(
      prepended.attachments.filter((n: string) => n !== rec.attachments[0]),
    );
    expect(filesOf(fx.docsId, rec.id).sort()).toEqual([...removed.attachments].sort());
    // a JSON body may keep and reorder names, never invent them
    const reordered = await fx.alice
      .collection("docs")
      .update(rec.id, { attachments: [...removed.attachments].reverse() });
    expect(reordered.attachments).toEqual([...removed.attachments].reverse());
    const unknown = await fx.alice
      .collection("docs")
      .update(rec.id, { attachments: ["other.txt"] })
      .catch((e) => e);
    expect(unknown.response.data.attachments.code).toBe("validation_unknown_filenames");
    // replacing a single file deletes the old one (and its thumbnails)
    const first = await fx.alice
      .collection("docs")
      .update(rec.id, { avatar: new File([await png()], "one.png") });
    const second = await fx.alice
      .collection("docs")
      .update(rec.id, { avatar: new File([await png()], "two.png") });
    expect(second.avatar).toMatch(NAME_RE("two", ".png"));
    expect(existsSync(stored(fx.docsId, rec.id, first.avatar))).toBe(false);
    expect(existsSync(stored(fx.docsId, rec.id, second.avatar))).toBe(true);
    // clearing removes every file
    await fx.alice.collection("docs").update(rec.id, { attachments: [], avatar: null });
    expect(filesOf(fx.docsId, rec.id)).toEqual([]);
  });

  it("@jsonPayload carries the other fields of a multipart body", async () => {
    const form = new FormData();
    form.append("@jsonPayload", JSON.stringify({ title: "from json payload", owner: fx.aliceId }));
    form.append("attachments", text("x", "x.txt"));
    const res = await server.fetch("/api/collections/docs/records", {
      method: "POST",
      body: form,
      token: fx.aliceToken,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { title: string; attachments: string[] };
    expect(body.title).toBe("from json payload");
    expect(body.attachments).toHaveLength(1);
  });
});

describe("limits and refusals change nothing", () => {
  it("a file over maxSize is a 400 naming the field, and nothing is stored", async () => {
    const before = readdirSync(stored(fx.docsId)).length;
    const err = await fx.alice
      .collection("docs")
      .create({ owner: fx.aliceId, attachments: [text("x".repeat(64 * 1024 + 1), "big.txt")] })
      .catch((e) => e);
    expect(err.status).toBe(400);
    expect(err.response.data.attachments.code).toBe("validation_file_size_limit");
    expect(readdirSync(stored(fx.docsId)).length).toBe(before);
  });

  it("more files than maxSelect is a 400 before they are stored", async () => {
    const err = await fx.alice
      .collection("docs")
      .create({ owner: fx.aliceId, attachments: [1, 2, 3, 4].map((i) => text(`${i}`, `${i}.txt`)) })
      .catch((e) => e);
    expect(err.status).toBe(400);
    expect(err.response.data.attachments.code).toBe("validation_too_many_values");
  });

  it("a file part under a key that is not a file field is a 400 naming it (never silently dropped)", async () => {
    const form = new FormData();
    form.append("owner", fx.aliceId);
    form.append("title", text("x", "x.txt"));
    const res = await server.fetch("/api/collections/docs/records", {
      method: "POST",
      body: form,
      token: fx.aliceToken,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { data: Record<string, { code: string }> }).data.title.code).toBe(
      "validation_invalid_file_field",
    );
    const other = new FormData();
    other.append("file", text("x", "x.txt"));
    const settings = await server.fetch("/api/settings", { method: "PATCH", body: other, token: su });
    expect(settings.status).toBe(400);
  });

  it("a body over the limit is a 413 from its Content-Length, before anything is read", async () => {
    // the client announces 200 MiB and sends a few bytes: the answer comes without waiting for the rest
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/api/collections/notes/records`, {
        method: "POST",
        headers: {
          authorization: su,
          "content-type": "multipart/form-data; boundary=x",
          "content-length": String(200 << 20),
        },
      });
      req.on("response", (res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on("error", reject);
      req.write("--x\r\n");
    });
    expect(status).toBe(413);
  });

  it("a write that fails (unique title) or is refused by a rule leaves no file behind", async () => {
    await fx.alice.collection("docs").create({ owner: fx.aliceId, title: "taken" });
    const before = readdirSync(stored(fx.docsId)).sort();
    const dup = await fx.alice
      .collection("docs")
      .create({ owner: fx.aliceId, title: "taken", attachments: [text("x", "x.txt")] })
      .catch((e) => e);
    expect(dup.status).toBe(400);
    expect(dup.response.data.title.code).toBe("validation_not_unique");
    const denied = await fx.bob
      .collection("docs")
      .create({ owner: fx.aliceId, attachments: [text("x", "x.txt")] })
      .catch((e) => e);
    expect(denied.status).toBe(400);
    expect(readdirSync(stored(fx.docsId)).sort()).toEqual(before);
    // and the request spools are emptied (a failed request's parts are removed as they stop)
    const spool = join(server.dataDir, ".tmp", "uploads");
    await expect.poll(() => (existsSync(spool) ? readdirSync(spool) : []), { timeout: 5000 }).toEqual([]);
  });
});

describe("deletes", () => {
  it("deleting a record removes its folder; cascaded records' files go too", async () => {
    const doc = await fx.alice
      .collection("docs")
      .create({ owner: fx.aliceId, attachments: [text("a", "a.txt")] });
    const note = await fx.admin.collection("notes").create({ doc: doc.id, file: text("n", "n.txt") });
    expect(filesOf(fx.notesId, note.id)).toEqual([note.file]);
    await fx.alice.collection("docs").delete(doc.id);
    expect(existsSync(stored(fx.docsId, doc.id))).toBe(false);
    expect(existsSync(stored(fx.notesId, note.id))).toBe(false);
  });
});

describe("batch", () => {
  it("accepts multipart with files under requests.N.field, all or nothing", async () => {
    await fx.admin.settings.update({ batch: { enabled: true, maxRequests: 10 } });
    const batch = fx.alice.createBatch();
    batch.collection("docs").create({ owner: fx.aliceId, title: "b1", attachments: [text("1", "one.txt")] });
    batch
      .collection("docs")
      .create({ owner: fx.aliceId, title: "b2", avatar: new File([await png()], "p.png") });
    const out = await batch.send();
    expect(out.map((r) => r.status)).toEqual([200, 200]);
    const [a, b] = out.map((r) => r.body as { id: string; attachments: string[]; avatar: string });
    expect(a.attachments[0]).toMatch(NAME_RE("one", ".txt"));
    expect(filesOf(fx.docsId, a.id)).toEqual(a.attachments);
    expect(filesOf(fx.docsId, b.id)).toEqual([b.avatar]);

    const before = readdirSync(stored(fx.docsId)).sort();
    const failing = fx.alice.createBatch();
    failing
      .collection("docs")
      .create({ owner: fx.aliceId, title: "b3", attachments: [text("3", "three.txt")] });
    failing.collection("docs").create({ owner: fx.aliceId, title: "b1" }); // unique violation
    await expect(failing.send()).rejects.toMatchObject({ status: 400 });
    expect(readdirSync(stored(fx.docsId)).sort()).toEqual(before);
  });
});
