import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type PocketBase from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import yazl from "yazl";
import { testStore } from "../harness/dialects.js";
import { startS3, type TestS3 } from "../harness/s3.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

let server: TestServer;
let pb: PocketBase;

beforeAll(async () => {
  server = await startServer();
  pb = await superuserSdk(server);
  await pb.collections.create({
    name: "notes",
    type: "base",
    listRule: "",
    viewRule: "",
    createRule: "",
    fields: [
      { name: "title", type: "text" },
      { name: "seq", type: "number" },
      { name: "doc", type: "file", maxSelect: 1, maxSize: 1_000_000 },
    ],
  });
  await pb.collections.create({
    name: "marks",
    type: "base",
    createRule: "",
    fields: [{ name: "seq", type: "number" }],
  });
});
afterAll(async () => {
  await server?.stop();
});

/**
 * After a restart, the process-wide fetch pool may still hold keep-alive sockets to the stopped server: each
 * fails once ("other side closed"), as a browser's would. Use them up before asserting anything.
 */
async function drainStaleSockets(s: TestServer): Promise<void> {
  let ok = 0;
  for (let i = 0; i < 30 && ok < 4; i++) {
    const res = await fetch(`${s.url}/api/health`).catch(() => null);
    ok = res?.status === 200 ? ok + 1 : 0;
  }
}

/** Signs the SDK in again (a restore replaces the data the old token was checked against). */
async function signIn(): Promise<void> {
  await drainStaleSockets(server);
  pb = await superuserSdk(server);
}

async function titles(): Promise<string[]> {
  const list = await pb.collection("notes").getFullList({ sort: "title" });
  return list.map((r) => String(r.title));
}

function zipOf(entries: [string, Buffer][]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of entries) zip.addBuffer(data, name);
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on("data", (c: Buffer) => chunks.push(c));
    zip.outputStream.on("end", () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on("error", reject);
  });
}

async function download(key: string): Promise<Buffer> {
  const token = await pb.files.getToken();
  const res = await fetch(pb.backups.getDownloadURL(token, key));
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe("backups through the pocketbase SDK", () => {
  it("creates, lists, downloads, uploads, restores and deletes", async () => {
    await pb.collection("notes").create({ title: "alpha" });
    const withFile = new FormData();
    withFile.append("title", "beta");
    withFile.append("doc", new Blob([Buffer.from("hello backup")], { type: "text/plain" }), "hello.txt");
    const beta = await pb.collection("notes").create(withFile);

    expect(await pb.backups.create("first.zip")).toBe(true);
    const list = await pb.backups.getFullList();
    const first = list.find((b) => b.key === "first.zip");
    expect(first?.size).toBeGreaterThan(100);
    expect(first?.modified).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);

    // the default name is PocketBase's
    await pb.backups.create("");
    expect((await pb.backups.getFullList()).map((b) => b.key)).toContainEqual(
      expect.stringMatching(/^pb_backup_[a-z0-9_]*_\d{14}\.zip$/),
    );

    // the zip downloads with a superuser file token and is a Basalt backup
    const bytes = await download("first.zip");
    expect(bytes.subarray(0, 2).toString()).toBe("PK");

    // it uploads back under another name
    expect(
      await pb.backups.upload({ file: new File([bytes], "copy.zip", { type: "application/zip" }) }),
    ).toBe(true);
    expect((await pb.backups.getFullList()).map((b) => b.key)).toContain("copy.zip");

    // changes after the backup are undone by the restore
    await pb.collection("notes").delete(beta.id);
    await pb.collection("notes").create({ title: "gamma" });
    expect(await titles()).toEqual(["alpha", "gamma"]);
    const restarted = server.restarted();
    expect(await pb.backups.restore("copy.zip")).toBe(true);
    await restarted;
    await signIn();
    expect(await titles()).toEqual(["alpha", "beta"]);
    const restoredBeta = await pb.collection("notes").getOne(beta.id);
    const file = await fetch(pb.files.getURL(restoredBeta, String(restoredBeta.doc)));
    expect(await file.text()).toBe("hello backup");

    expect(await pb.backups.delete("copy.zip")).toBe(true);
    expect((await pb.backups.getFullList()).map((b) => b.key)).not.toContain("copy.zip");
  });

  it("refuses bad names, duplicates, and callers that are not superusers", async () => {
    const bad = await server.fetch("/api/backups", {
      method: "POST",
      token: pb.authStore.token,
      json: { name: "Bad Name.zip" },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { data: { name: { code: string } } }).data.name.code).toBe(
      "validation_match_invalid",
    );
    const dup = await server.fetch("/api/backups", {
      method: "POST",
      token: pb.authStore.token,
      json: { name: "first.zip" },
    });
    expect(dup.status).toBe(400);
    expect(((await dup.json()) as { data: { name: { code: string } } }).data.name.code).toBe(
      "validation_backup_name_exists",
    );
    expect((await server.fetch("/api/backups")).status).toBe(401);
    expect((await server.fetch("/api/backups", { method: "POST", json: {} })).status).toBe(401);
    expect((await server.fetch("/api/backups/first.zip", { method: "DELETE" })).status).toBe(401);
    expect((await server.fetch("/api/backups/first.zip/restore", { method: "POST" })).status).toBe(401);
  });

  it("downloads only with a valid superuser file token", async () => {
    expect((await server.fetch("/api/backups/first.zip")).status).toBe(403);
    // an auth token is not a file token
    expect((await server.fetch(`/api/backups/first.zip?token=${pb.authStore.token}`)).status).toBe(403);
    const users = server.sdk();
    await pb.collection("users").create({
      email: "reader@example.com",
      password: "reader-password-1",
      passwordConfirm: "reader-password-1",
    });
    await users.collection("users").authWithPassword("reader@example.com", "reader-password-1");
    const userFileToken = await users.files.getToken();
    expect((await server.fetch(`/api/backups/first.zip?token=${userFileToken}`)).status).toBe(403);
    const token = await pb.files.getToken();
    expect((await server.fetch(`/api/backups/missing.zip?token=${token}`)).status).toBe(404);
    expect((await server.fetch(`/api/backups/first.zip?token=${token}`)).status).toBe(200);
  });

  it("refuses broken, foreign, zip-slip and zip-bomb archives with nothing changed", async () => {
    const before = await titles();
    const good = await download("first.zip");
    const manifest = await (async () => {
      const yauzl = await import("yauzl");
      return new Promise<Buffer>((resolve, reject) => {
        yauzl.default.fromBuffer(good, { lazyEntries: true }, (err, zip) => {
          if (err) return reject(err);
          zip.on("entry", (e: import("yauzl").Entry) => {
            zip.openReadStream(e, (err2, stream) => {
              if (err2) return reject(err2);
              const chunks: Buffer[] = [];
              stream.on("data", (c: Buffer) => chunks.push(c));
              stream.on("end", () => resolve(Buffer.concat(chunks)));
            });
          });
          zip.readEntry();
        });
      });
    })();
    const slip = await zipOf([
      ["manifest.json", manifest],
      ["storage/xx/evil.txt", Buffer.from("owned")],
    ]);
    // the same name with `..` in place of `xx`, in the local header and the central directory
    const slipBytes = Buffer.from(slip.toString("latin1").replaceAll("storage/xx/", "storage/../"), "latin1");
    const cases: [string, Buffer][] = [
      ["broken.zip", Buffer.concat([good.subarray(0, good.length / 2)])],
      ["random.zip", Buffer.from("this is not a zip at all")],
      // a PocketBase backup: its database and no Basalt manifest
      [
        "pocketbase.zip",
        await zipOf([
          ["data.db", Buffer.alloc(4096)],
          ["auxiliary.db", Buffer.alloc(4096)],
        ]),
      ],
      ["slip.zip", slipBytes],
      [
        "bomb.zip",
        await zipOf([
          ["manifest.json", manifest],
          ["storage/zero.bin", Buffer.alloc(64 * 1024 ** 2)],
        ]),
      ],
      [
        "foreign-store.zip",
        await zipOf([
          [
            "manifest.json",
            Buffer.from(
              JSON.stringify({
                ...JSON.parse(manifest.toString()),
                store: server.store === "postgres" ? "sqlite" : "postgres",
              }),
            ),
          ],
        ]),
      ],
    ];
    // an operator copied them into the backups folder (the upload checks them too, below)
    const dir = join(server.dataDir, "backups");
    mkdirSync(dir, { recursive: true });
    for (const [name, data] of cases) writeFileSync(join(dir, name), data);
    for (const [name, data] of cases) {
      const res = await server.fetch(`/api/backups/${name}/restore`, {
        method: "POST",
        token: pb.authStore.token,
      });
      const body = (await res.json()) as { message: string };
      expect(res.status, name).toBe(400);
      expect(body.message, name).toMatch(/not a Basalt backup/);
      const upload = new FormData();
      upload.append("file", new Blob([data]), `up-${name}`);
      const up = await server.fetch("/api/backups/upload", {
        method: "POST",
        token: pb.authStore.token,
        body: upload,
      });
      expect(up.status, name).toBe(400);
    }
    expect((await pb.backups.getFullList()).map((b) => b.key)).not.toContainEqual(
      expect.stringMatching(/^up-/),
    );
    expect(await titles()).toEqual(before);
    expect(server.basalt.app.backups.busy).toBeNull();
  });

  it("a backup taken while a client keeps writing restores to one consistent instant", async () => {
    let stop = false;
    let seq = 0;
    const acked: number[] = [];
    const writer = (async () => {
      const w = server.sdk();
      while (!stop) {
        const n = ++seq;
        // two collections, one after the other: a consistent copy never has a mark without its note
        await w.collection("notes").create({ title: `w${n}`, seq: n });
        await w.collection("marks").create({ seq: n });
        acked.push(n);
      }
    })();
    while (acked.length < 20) await new Promise((r) => setTimeout(r, 10));
    const ackedBefore = acked.length;
    await pb.backups.create("under-load.zip");
    const ackedAfter = acked.length;
    const sentAfter = seq;
    while (acked.length < ackedAfter + 10) await new Promise((r) => setTimeout(r, 10));
    stop = true;
    await writer;
    expect(acked.length).toBeGreaterThan(ackedAfter);

    const restarted = server.restarted();
    await pb.backups.restore("under-load.zip");
    await restarted;
    await signIn();
    const notes = (await pb.collection("notes").getFullList({ filter: "seq > 0" })).map((r) => Number(r.seq));
    const marks = (await pb.collection("marks").getFullList()).map((r) => Number(r.seq));
    notes.sort((a, b) => a - b);
    marks.sort((a, b) => a - b);
    // a prefix of the writer's sequence: every write acknowledged before the backup began, none sent after it ended
    expect(notes).toEqual(Array.from({ length: notes.length }, (_, i) => i + 1));
    expect(notes.length).toBeGreaterThanOrEqual(ackedBefore);
    expect(notes.length).toBeLessThanOrEqual(sentAfter);
    expect(marks).toEqual(Array.from({ length: marks.length }, (_, i) => i + 1));
    expect(notes.length - marks.length === 0 || notes.length - marks.length === 1).toBe(true);
    // and not everything: what was written after the backup is gone
    expect(notes.length).toBeLessThan(acked.length);
    const rows = await pb.collection("notes").getFullList({ filter: "seq > 0" });
    for (const r of rows) expect(r.title).toBe(`w${r.seq}`);
  });

  it("runs on the backups.cron schedule and keeps cronMaxKeep automatic backups", async () => {
    const bad = await server.fetch("/api/settings", {
      method: "PATCH",
      token: pb.authStore.token,
      json: { backups: { cron: "not a cron" } },
    });
    expect(bad.status).toBe(400);
    await pb.settings.update({ backups: { cron: "0 3 * * *", cronMaxKeep: 2 } });
    expect((await pb.crons.getFullList()).map((c) => c.id)).toContain("__pbAutoBackup__");
    for (let i = 0; i < 3; i++) {
      if (i) await new Promise((r) => setTimeout(r, 1100)); // names carry the second
      await pb.crons.run("__pbAutoBackup__");
    }
    const auto = (await pb.backups.getFullList()).filter((b) => b.key.startsWith("@auto_pb_backup_"));
    expect(auto).toHaveLength(2);
    expect((await pb.backups.getFullList()).map((b) => b.key)).toContain("first.zip");
    await pb.settings.update({ backups: { cron: "" } });
    expect((await pb.crons.getFullList()).map((c) => c.id)).not.toContain("__pbAutoBackup__");
  });
});

describe("backups: bounds", () => {
  let small: TestServer;
  beforeAll(async () => {
    small = await startServer({ backupMaxUploadBytes: 4096 });
  });
  afterAll(async () => {
    await small?.stop();
  });

  it("one backup at a time; uploads over backupMaxUploadBytes are refused", async () => {
    const app = small.basalt.app;
    const admin = await superuserSdk(small);
    const first = app.backups.create();
    // while it runs, another is refused and /api/health tells superusers so
    const health = await admin.health.check();
    expect(health.data.canBackup).toBe(false);
    const [a, b] = await Promise.allSettled([first, app.backups.create()]);
    expect(a.status).toBe("fulfilled");
    expect(b.status).toBe("rejected");
    expect(String((b as PromiseRejectedResult).reason.message)).toMatch(/^Try again later/);
    expect((await admin.health.check()).data.canBackup).toBe(true);
    const upload = new FormData();
    upload.append("file", new Blob([Buffer.alloc(8192)]), "big.zip");
    const res = await small.fetch("/api/backups/upload", {
      method: "POST",
      token: admin.authStore.token,
      body: upload,
    });
    expect([400, 413]).toContain(res.status);
    expect((await admin.backups.getFullList()).map((x) => x.key)).not.toContain("big.zip");
    expect(await admin.backups.getFullList()).toHaveLength(1);
  });

  // the point is the missing handler, not the store: SQLite only
  it.skipIf(testStore() === "postgres")(
    "an embedded Basalt without a restart handler refuses a restore",
    async () => {
      const { createApp } = await import("../../src/main.js");
      const { pino } = await import("pino");
      const { mkdtempSync, rmSync } = await import("node:fs");
      const { tmpdir } = await import("node:os");
      const dir = mkdtempSync(join(tmpdir(), "basalt-norestart-"));
      const bare = await createApp({ dataDir: dir, http: "127.0.0.1:0" }, pino({ level: "silent" }));
      try {
        const key = await bare.app.backups.create();
        await expect(bare.app.backups.restore(key)).rejects.toThrow(/cannot restart itself/);
      } finally {
        await bare.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe("backups stored in S3 (backups.s3, s3rver on loopback)", () => {
  let s3: TestS3;
  let other: TestServer;
  beforeAll(async () => {
    s3 = await startS3("backups");
    other = await startServer();
  });
  afterAll(async () => {
    await other?.stop();
    await s3?.stop();
  });

  it("creates, lists, downloads and restores from the bucket", async () => {
    const admin = await superuserSdk(other);
    await admin.settings.update({ backups: { s3: s3.config } });
    await admin
      .collection("users")
      .create({ email: "kept@example.com", password: "kept-password-1", passwordConfirm: "kept-password-1" });
    await admin.backups.create("in-s3.zip");
    expect((await admin.backups.getFullList()).map((b) => b.key)).toEqual(["in-s3.zip"]);
    const local = join(other.dataDir, "backups", "in-s3.zip");
    expect(() => copyFileSync(local, `${local}.copy`)).toThrow();
    await admin.collection("users").create({
      email: "later@example.com",
      password: "later-password-1",
      passwordConfirm: "later-password-1",
    });
    const restarted = other.restarted();
    await admin.backups.restore("in-s3.zip");
    await restarted;
    await drainStaleSockets(other);
    const again = await superuserSdk(other);
    const emails = (await again.collection("users").getFullList()).map((u) => u.email);
    expect(emails).toEqual(["kept@example.com"]);
  });
});
