import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import BetterSqlite3 from "better-sqlite3";
import PocketBase from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, isCi, postgresProblem } from "../harness/dialects.js";
import { freePort, runCli, type Served, serve } from "./cli-helpers.js";

// Issue 18, item 3: `basalt import-pocketbase` on a data folder made by a real PocketBase 0.22 binary.
const PB_BIN = fileURLToPath(new URL("../../../../node_modules/.bin/pocketbase", import.meta.url));
const ADMIN = { email: "admin@example.com", password: "admin-password-1" };
const ALICE = { email: "alice@example.com", username: "alice", password: "alice-password-1" };
const BOB = { email: "bob@example.com", username: "bob_b", password: "bob-password-12" };
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64",
);
const NOTE = Buffer.from("plain text attachment\n");

const wantsPostgres = (process.env.BASALT_TEST_DIALECTS ?? "sqlite,postgres").includes("postgres");
const pgProblem = wantsPostgres ? await postgresProblem() : "not selected by BASALT_TEST_DIALECTS";
if (pgProblem && wantsPostgres) {
  if (isCi()) throw new Error(`import-pocketbase tests: PostgreSQL unreachable under CI (${pgProblem})`);
  console.warn(`import-pocketbase tests on PostgreSQL SKIPPED: ${pgProblem}`);
}
const targets = pgProblem ? (["sqlite"] as const) : (["sqlite", "postgres"] as const);

let cwd: string;
let pbData: string;
/** Ids of what PocketBase created, for the checks. */
const made: Record<string, string> = {};

async function stop(s: Served): Promise<void> {
  s.child.kill("SIGTERM");
  await s.exited;
}

/** A hash of every file (path, size, bytes) under a folder: the source must not change. */
function folderHash(dir: string): string {
  const h = createHash("sha256");
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      h.update(p);
      if (e.isDirectory()) walk(p);
      else h.update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest("hex");
}

async function waitExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      child.kill("SIGKILL");
      resolve();
    }, ms);
    child.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Runs a real PocketBase 0.22 on a loopback port, every folder in the temp dir, and seeds it. */
async function makePocketBase022(root: string): Promise<void> {
  const dirs = [
    "--dir",
    pbData,
    ...["migrationsDir", "hooksDir", "publicDir"].flatMap((f) => [`--${f}`, join(root, f)]),
  ];
  const port = await freePort();
  const child = spawn(PB_BIN, ["serve", "--http", `127.0.0.1:${port}`, ...dirs, "--automigrate=false"], {
    stdio: "ignore",
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const ok = await fetch(`${base}/api/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error("PocketBase 0.22 did not start");
      await new Promise((r) => setTimeout(r, 50));
    }
    const call = async (method: string, path: string, body?: unknown, token = "") => {
      const form = body instanceof FormData;
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          ...(token ? { Authorization: token } : {}),
          ...(form ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : form ? body : JSON.stringify(body),
      });
      const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    // 0.22's first-admin flow: with no admin yet, the create route is open
    await call("POST", "/api/admins", { ...ADMIN, passwordConfirm: ADMIN.password });
    const token = String(
      (
        await call("POST", "/api/admins/auth-with-password", {
          identity: ADMIN.email,
          password: ADMIN.password,
        })
      ).token,
    );
    // settings as 0.22 keeps them: the OAuth2 providers live here, not in the collections
    await call(
      "PATCH",
      "/api/settings",
      {
        meta: { appName: "Old PB app", appUrl: "https://old.example.com/" },
        backups: { cron: "0 3 * * *", cronMaxKeep: 5 },
        googleAuth: { enabled: true, clientId: "g-client", clientSecret: "g-secret" },
      },
      token,
    );
    const users = await call("GET", "/api/collections/users", undefined, token);
    made.users = String(users.id);
    // 0.22's collection shape: `schema` with options nested, `@request.data` in rules
    const posts = await call(
      "POST",
      "/api/collections",
      {
        name: "posts",
        type: "base",
        listRule: "published = true || author = @request.auth.id",
        viewRule: "published = true || author = @request.auth.id",
        createRule: "@request.auth.id != '' && @request.data.author = @request.auth.id",
        updateRule: "author = @request.auth.id",
        deleteRule: null,
        schema: [
          { name: "title", type: "text", required: true, options: { min: 1, max: 200 } },
          { name: "slug", type: "text", options: { pattern: "^[a-z0-9-]+$" } },
          { name: "body", type: "editor", options: { convertUrls: true } },
          { name: "views", type: "number", options: { noDecimal: true, min: 0 } },
          { name: "published", type: "bool" },
          { name: "meta", type: "json", options: { maxSize: 2000 } },
          { name: "labels", type: "select", options: { values: ["red", "green", "blue"], maxSelect: 2 } },
          {
            name: "author",
            type: "relation",
            options: { collectionId: made.users, maxSelect: 1, cascadeDelete: false },
          },
          {
            name: "cover",
            type: "file",
            options: { maxSelect: 1, maxSize: 100000, mimeTypes: ["image/png"], thumbs: ["10x10"] },
          },
          { name: "attachments", type: "file", options: { maxSelect: 3, maxSize: 100000 } },
        ],
        indexes: [
          "CREATE UNIQUE INDEX `idx_posts_slug` ON `posts` (`slug`) WHERE `slug` != ''",
          "CREATE INDEX `idx_posts_title` ON `posts` (`title`)",
        ],
      },
      token,
    );
    made.posts = String(posts.id);
    const comments = await call(
      "POST",
      "/api/collections",
      {
        name: "comments",
        type: "base",
        listRule: "",
        viewRule: "",
        schema: [
          { name: "text", type: "text", required: true },
          {
            name: "post",
            type: "relation",
            required: true,
            options: { collectionId: made.posts, maxSelect: 1, cascadeDelete: true },
          },
          // no maxSelect: any number (0.23 writes 2147483647)
          { name: "mentions", type: "relation", options: { collectionId: made.users, maxSelect: null } },
        ],
      },
      token,
    );
    made.comments = String(comments.id);
    await call(
      "POST",
      "/api/collections",
      {
        name: "post_titles",
        type: "view",
        listRule: "",
        viewRule: "",
        options: { query: "SELECT id, title FROM posts" },
      },
      token,
    );
    for (const [key, u] of [
      ["alice", ALICE],
      ["bob", BOB],
    ] as const) {
      const rec = await call(
        "POST",
        "/api/collections/users/records",
        { ...u, passwordConfirm: u.password, verified: true, emailVisibility: key === "alice", name: key },
        token,
      );
      made[key] = String(rec.id);
    }
    const post = (title: string, slug: string, published: boolean, author: string, files: boolean) => {
      const form = new FormData();
      form.append("title", title);
      form.append("slug", slug);
      form.append("body", "<p>Hello</p>");
      form.append("views", "7");
      form.append("published", String(published));
      form.append("meta", JSON.stringify({ tags: ["x"], n: 1 }));
      form.append("labels", "red");
      form.append("labels", "blue");
      form.append("author", author);
      if (files) {
        form.append("cover", new Blob([PNG], { type: "image/png" }), "cover.png");
        form.append("attachments", new Blob([NOTE], { type: "text/plain" }), "note.txt");
        form.append("attachments", new Blob([NOTE], { type: "text/plain" }), "second.txt");
      }
      return call("POST", "/api/collections/posts/records", form, token);
    };
    const p1 = await post("Public post", "public-post", true, made.alice, true);
    made.p1 = String(p1.id);
    made.p1cover = String(p1.cover);
    made.p1attachments = JSON.stringify(p1.attachments);
    made.p2 = String((await post("Bob's draft", "bobs-draft", false, made.bob, false)).id);
    await call(
      "POST",
      "/api/collections/comments/records",
      { text: "Nice", post: made.p1, mentions: [made.alice, made.bob] },
      token,
    );
  } finally {
    child.kill("SIGTERM");
    await waitExit(child, 10_000);
  }
  // 0.22 has no API to link an OAuth2 account without a provider round trip: the row its OAuth2 flow writes
  const db = new BetterSqlite3(join(pbData, "data.db"));
  db.prepare(
    "INSERT INTO _externalAuths (id, collectionId, recordId, provider, providerId, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)",
  ).run(
    "ext000000000001",
    made.users,
    made.alice,
    "google",
    "google-uid-1",
    "2024-05-01 10:00:00.000Z",
    "2024-05-01 10:00:00.000Z",
  );
  db.close();
}

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "basalt-pbimport-"));
  pbData = join(cwd, "pb_data");
  await makePocketBase022(cwd);
}, 120_000);
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

async function checkImported(s: Served): Promise<void> {
  // the superuser (0.22 `_admins`) and the users sign in with their PocketBase passwords (bcrypt hashes)
  const su = new PocketBase(s.url);
  await su.collection("_superusers").authWithPassword(ADMIN.email, ADMIN.password);
  const alice = new PocketBase(s.url);
  const auth = await alice.collection("users").authWithPassword(ALICE.email, ALICE.password);
  expect(auth.record.id).toBe(made.alice);
  expect(auth.record.username).toBe("alice");
  // username sign-in stays on (0.22's allowUsernameAuth), a wrong password is still refused
  await new PocketBase(s.url).collection("users").authWithPassword(BOB.username, BOB.password);
  await expect(
    new PocketBase(s.url).collection("users").authWithPassword(BOB.email, "wrong-password"),
  ).rejects.toThrow();

  // collections: rules (with @request.data renamed), indexes, field options mapped to 0.23's shape
  const posts = await su.collections.getOne("posts");
  expect(posts.id).toBe(made.posts);
  expect(posts.listRule).toBe("published = true || author = @request.auth.id");
  expect(posts.createRule).toBe("@request.auth.id != '' && @request.body.author = @request.auth.id");
  expect(posts.deleteRule).toBeNull();
  expect(posts.indexes.join("\n")).toMatch(
    /CREATE UNIQUE INDEX `idx_posts_slug` ON `posts` \(`slug`\) WHERE `slug` != ''/,
  );
  expect(posts.indexes.join("\n")).toContain("idx_posts_title");
  const field = (c: typeof posts, name: string) =>
    c.fields.find((f) => f.name === name) as Record<string, unknown>;
  expect(field(posts, "views")).toMatchObject({ type: "number", onlyInt: true, min: 0 });
  expect(field(posts, "labels")).toMatchObject({
    type: "select",
    values: ["red", "green", "blue"],
    maxSelect: 2,
  });
  expect(field(posts, "cover")).toMatchObject({
    type: "file",
    maxSelect: 1,
    maxSize: 100000,
    mimeTypes: ["image/png"],
    thumbs: ["10x10"],
  });
  expect(field(posts, "body")).toMatchObject({ type: "editor", convertURLs: true });
  expect(field(posts, "created")).toMatchObject({ type: "autodate", onCreate: true });
  const comments = await su.collections.getOne("comments");
  expect(field(comments, "mentions")).toMatchObject({
    type: "relation",
    collectionId: made.users,
    maxSelect: 2147483647,
  });
  expect(field(comments, "post")).toMatchObject({ cascadeDelete: true, maxSelect: 1 });
  const users = await su.collections.getOne("users");
  expect(users.passwordAuth).toEqual({ enabled: true, identityFields: ["email", "username"] });
  // 0.22's settings: the application's name and URL, and the OAuth2 provider moved into the auth collection
  expect(users.oauth2.enabled).toBe(true);
  expect(users.oauth2.providers).toEqual([expect.objectContaining({ name: "google", clientId: "g-client" })]);
  expect(users.oauth2.providers[0].clientSecret).toBeUndefined();
  const settings = await su.settings.getAll();
  expect(settings.meta).toMatchObject({ appName: "Old PB app", appURL: "https://old.example.com" });
  expect(settings.backups).toMatchObject({ cron: "0 3 * * *", cronMaxKeep: 5 });
  expect(field(users, "username")).toMatchObject({ type: "text", required: true });

  // records and relations, read under the imported rules
  const list = await alice.collection("posts").getFullList({ sort: "title", expand: "author" });
  expect(list.map((p) => p.title)).toEqual(["Public post"]); // Bob's draft is not Alice's and not published
  const p1 = list[0];
  expect(p1).toMatchObject({
    slug: "public-post",
    views: 7,
    published: true,
    labels: ["red", "blue"],
    meta: { tags: ["x"], n: 1 },
  });
  expect(p1.expand?.author?.id).toBe(made.alice);
  const all = await su.collection("posts").getFullList({ sort: "title" });
  expect(all).toHaveLength(2);
  const comment = (await su.collection("comments").getFullList({ expand: "post,mentions" }))[0];
  expect(comment.post).toBe(made.p1);
  expect(comment.mentions).toEqual([made.alice, made.bob]);
  expect(comment.expand?.post?.title).toBe("Public post");
  expect((await su.collection("post_titles").getFullList()).map((r) => r.title).sort()).toEqual([
    "Bob's draft",
    "Public post",
  ]);

  // uploaded files come back byte for byte
  expect(p1.cover).toBe(made.p1cover);
  const cover = await fetch(alice.files.getURL(p1, p1.cover));
  expect(cover.status).toBe(200);
  expect(Buffer.from(await cover.arrayBuffer()).equals(PNG)).toBe(true);
  expect(p1.attachments).toEqual(JSON.parse(made.p1attachments));
  for (const name of p1.attachments as string[]) {
    const res = await fetch(alice.files.getURL(p1, name));
    expect(Buffer.from(await res.arrayBuffer()).equals(NOTE)).toBe(true);
  }

  // the OAuth2 link came along
  const links = await su.collection("_externalAuths").getFullList();
  expect(links).toEqual([
    expect.objectContaining({
      collectionRef: made.users,
      recordRef: made.alice,
      provider: "google",
      providerId: "google-uid-1",
    }),
  ]);

  // the import keeps writes working: the imported rules apply to new records
  const created = await alice.collection("posts").create({ title: "New", author: made.alice });
  expect(created.author).toBe(made.alice);
  await expect(alice.collection("posts").create({ title: "Forged", author: made.bob })).rejects.toThrow();
}

describe("basalt import-pocketbase (PocketBase 0.22 data folder)", () => {
  for (const target of targets) {
    it(`imports into ${target === "sqlite" ? "a SQLite data folder" : "PostgreSQL"}: sign-in, records, rules, files`, async () => {
      const before = folderHash(pbData);
      const dir = join(cwd, `basalt-${target}`);
      const db = target === "postgres" ? await createTestDatabase() : null;
      const store = db ? ["--db", db.url] : [];
      try {
        const r = runCli(["import-pocketbase", pbData, "--dir", dir, ...store], cwd);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain("PocketBase 0.22 data folder");
        expect(r.stdout).toMatch(/posts: 2 of 2 records/);
        expect(r.stdout).toMatch(/_superusers: 1 of 1 records/);
        expect(r.stdout).toMatch(/users: 2 of 2 records/);
        expect(r.stdout).toMatch(/Copied 3 uploaded files/);
        expect(r.stdout).toContain("Imported the settings");
        // the source was opened read-only: not one byte changed
        expect(folderHash(pbData)).toBe(before);

        // a second import into the same target is refused, with nothing changed
        const again = runCli(["import-pocketbase", pbData, "--dir", dir, ...store], cwd);
        expect(again.code).toBe(1);
        expect(again.stderr).toContain("BASALT_ERR_TRANSFER_TARGET_NOT_EMPTY");

        const s = await serve(["--dir", dir, ...store], cwd);
        try {
          await checkImported(s);
        } finally {
          await stop(s);
        }
      } finally {
        await db?.drop();
      }
    }, 120_000);
  }

  it("refuses a folder that is not a PocketBase data folder, creating nothing", () => {
    const empty = join(cwd, "not-pb");
    mkdirSync(empty);
    const dir = join(cwd, "never-created");
    const r = runCli(["import-pocketbase", empty, "--dir", dir], cwd);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("BASALT_ERR_PB_IMPORT_SOURCE");
    expect(() => statSync(dir)).toThrow();
  }, 60_000);
});
