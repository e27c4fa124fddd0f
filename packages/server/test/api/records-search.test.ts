import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type PocketBase from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportDump, importDump } from "../../src/core/transfer/index.js";
import { openDatabase } from "../../src/db/index.js";
import { createTestDatabase, type TestDatabase } from "../harness/dialects.js";
import { gql } from "../harness/graphql.js";
import { type HooksProject, hooksProject } from "../harness/hooks-project.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

// Full-text search (issue 18): `search=` on the records list, over a collection's chosen text fields.
// A hook refuses (after the insert, inside its transaction) notes titled "rollback ...".
const MAIN = `
import type { HookApi } from "basalt";
export default function (app: HookApi) {
  app.onRecordCreate(
    async (e) => {
      await e.next();
      if (String(e.record.title).startsWith("rollback")) throw new app.errors.ApiError(400, "Refused after the insert.");
    },
    { collections: ["notes"] },
  );
}
`;

let project: HooksProject;
let server: TestServer;
let su: PocketBase;
let guest: PocketBase;

const ids: Record<string, string> = {};

beforeAll(async () => {
  project = hooksProject({ "main.ts": MAIN });
  server = await startServer({ hooksDir: project.hooksDir });
  su = await superuserSdk(server);
  guest = server.sdk();
  await su.settings.update({ batch: { enabled: true, maxRequests: 10 } });
  await su.collections.create({
    name: "articles",
    listRule: "public = true",
    viewRule: "public = true",
    fields: [
      { name: "title", type: "text" },
      { name: "body", type: "editor" },
      { name: "site", type: "url" },
      { name: "secret", type: "text", hidden: true },
      { name: "n", type: "number" },
      { name: "public", type: "bool" },
    ],
    search: { fields: ["title", "body", "site"] },
  } as never);
  const rows = [
    // "apple" everywhere: the most relevant
    { key: "many", title: "Apple apple pie", body: "<p>apple and more apple</p>", n: 1, public: true },
    {
      key: "once",
      title: "Fruit basket",
      body: "<p>one apple among pears with a long text about fruit</p>",
      n: 2,
      public: true,
    },
    { key: "none", title: "Pears", body: "<p>nothing here</p>", n: 3, public: true },
    // the list rule hides it from guests
    { key: "private", title: "Apple secrets", body: "apple apple apple", n: 4, public: false },
    {
      key: "url",
      title: "Links",
      site: "https://orchard.example.com/fruit",
      n: 5,
      public: true,
      secret: "apple",
    },
  ];
  for (const { key, ...data } of rows) ids[key] = (await su.collection("articles").create(data)).id;
  await su.collections.create({
    name: "notes",
    listRule: "",
    viewRule: "",
    createRule: "",
    updateRule: "",
    deleteRule: "",
    fields: [{ name: "title", type: "text" }],
    search: { fields: ["title"] },
  } as never);
  await su.collections.create({
    name: "plain",
    listRule: "",
    fields: [{ name: "title", type: "text" }],
  } as never);
});
afterAll(async () => {
  await server?.stop();
  project?.remove();
});

async function search(
  collection: string,
  text: string,
  extra: Record<string, unknown> = {},
  client: PocketBase = su,
) {
  return client.collection(collection).getList(1, 20, { search: text, ...extra } as never);
}

async function status(path: string): Promise<{ status: number; body: { message?: string; data?: unknown } }> {
  const res = await server.fetch(path, { headers: { authorization: su.authStore.token } });
  return { status: res.status, body: (await res.json()) as { message?: string } };
}

describe("the search option", () => {
  it("is part of the collection JSON", async () => {
    const c = await su.collections.getOne("articles");
    expect((c as unknown as { search: unknown }).search).toEqual({ fields: ["title", "body", "site"] });
    const plain = await su.collections.getOne("plain");
    expect((plain as unknown as { search?: unknown }).search).toBeUndefined();
  });

  it.each([
    ["an unknown field", { fields: ["nope"] }, /Unknown field "nope"/],
    ["a number field", { fields: ["n"] }, /not a text, editor, email or url field/],
    ["a hidden field", { fields: ["secret"] }, /hidden/],
    ["a field listed twice", { fields: ["title", "title"] }, /twice/],
    ["a non-object", "title", /Must be null or an object/],
  ])("refuses %s", async (_name, value, message) => {
    const res = await server.fetch("/api/collections/articles", {
      method: "PATCH",
      json: { search: value },
      headers: { authorization: su.authStore.token },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { data: { search: { code: string; message: string } } };
    expect(body.data.search.code).toBe("validation_invalid_search");
    expect(body.data.search.message).toMatch(message);
    // nothing changed
    expect(((await su.collections.getOne("articles")) as never as { search: unknown }).search).toEqual({
      fields: ["title", "body", "site"],
    });
  });

  it("refuses hiding a searched field, an auth e-mail and views", async () => {
    const c = await su.collections.getOne("articles");
    const fields = c.fields.map((f) => (f.name === "title" ? { ...f, hidden: true } : f));
    await expect(su.collections.update("articles", { fields })).rejects.toMatchObject({ status: 400 });
    await expect(
      su.collections.update("users", { search: { fields: ["email"] } } as never),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      su.collections.create({
        name: "articles_view",
        type: "view",
        viewQuery: "SELECT id, title FROM articles",
        search: { fields: ["title"] },
      } as never),
    ).rejects.toMatchObject({ status: 400 });
  });
});

describe("search=", () => {
  it("ranks the records matching more often first", async () => {
    const page = await search("articles", "apple", {}, guest);
    expect(page.items.map((r) => r.id)).toEqual([ids.many, ids.once]);
    // the superuser also sees the private record (the list rule does not apply)
    const all = (await search("articles", "apple")).items.map((r) => r.id);
    expect([...all].sort()).toEqual([ids.private, ids.many, ids.once].sort());
    expect(all.indexOf(ids.many)).toBeLessThan(all.indexOf(ids.once));
    expect(page.totalItems).toBe(2);
  });

  it("splits URLs into words, matches the last word as a prefix, and requires every word", async () => {
    expect((await search("articles", "orchard")).items.map((r) => r.id)).toEqual([ids.url]);
    expect((await search("articles", "pie app")).items.map((r) => r.id)).toEqual([ids.many]);
    // two letters are not a prefix; a trailing space ends the word
    expect((await search("articles", "ap")).items).toEqual([]);
    expect((await search("articles", "appl ")).items).toEqual([]);
    expect((await search("articles", "APPLE PEARS")).items.map((r) => r.id)).toEqual([ids.once]);
  });

  it("never matches a hidden field", async () => {
    // "apple" is in the url record's hidden `secret` only as a whole word
    expect((await search("articles", "apple")).items.map((r) => r.id)).not.toContain(ids.url);
  });

  it("combines with filter, sort and paging", async () => {
    expect((await search("articles", "apple", { filter: "n >= 2 && n < 4" })).items.map((r) => r.id)).toEqual(
      [ids.once],
    );
    expect((await search("articles", "apple", { sort: "-n" })).items.map((r) => r.id)).toEqual([
      ids.private,
      ids.once,
      ids.many,
    ]);
    const second = await su
      .collection("articles")
      .getList(2, 1, { search: "apple", filter: "n < 4" } as never);
    expect(second.items.map((r) => r.id)).toEqual([ids.once]);
    expect([second.totalItems, second.totalPages]).toEqual([2, 2]);
    const skip = await su.collection("articles").getList(1, 1, { search: "apple", skipTotal: true } as never);
    expect(skip.totalItems).toBe(-1);
  });

  it("applies the list rule: records it hides are never found", async () => {
    const asSuperuser = await search("articles", "secrets");
    expect(asSuperuser.items.map((r) => r.id)).toEqual([ids.private]);
    const asGuest = await search("articles", "apple", {}, guest);
    expect(asGuest.items.map((r) => r.id)).toEqual([ids.many, ids.once]);
    expect(asGuest.totalItems).toBe(2);
    expect((await search("articles", "secrets", {}, guest)).totalItems).toBe(0);
  });

  it.each([
    '"',
    "NEAR(",
    "*",
    "apple*",
    "title:apple",
    "apple OR pears",
    "-apple",
    "^apple",
    "'); DROP TABLE articles; --",
    "\\",
    "{:x}",
    "a AND",
    "(((",
    "😀 apple",
  ])("treats %j as plain words", async (text) => {
    const res = await status(`/api/collections/articles/records?search=${encodeURIComponent(text)}`);
    expect(res.status).toBe(200);
    const words = text.match(/[\p{L}\p{N}]+/gu) ?? [];
    for (const item of (res.body as unknown as { items: { title: string; body: string }[] }).items) {
      const doc = `${item.title} ${item.body}`.toLowerCase();
      // every word of the text occurs in what was found (the last one possibly as a prefix)
      for (const w of words) expect(doc).toContain(w.toLowerCase().slice(0, 3));
    }
  });

  it("finds nothing for a text without words, and refuses too long a text or too many words", async () => {
    expect((await search("articles", '" * ( ) :')).totalItems).toBe(0);
    const long = await status(`/api/collections/articles/records?search=${"a".repeat(257)}`);
    expect(long.status).toBe(400);
    expect(long.body.message).toMatch(/too long/);
    const many = await status(
      `/api/collections/articles/records?search=${Array.from({ length: 17 }, (_, i) => `w${i}`).join("+")}`,
    );
    expect(many.status).toBe(400);
    expect(many.body.message).toMatch(/too many words/);
    // NUL never reaches the search: the server refuses it in any query string
    expect((await status("/api/collections/articles/records?search=appl%00e")).status).toBe(400);
  });

  it("is refused on a collection without search", async () => {
    const res = await status("/api/collections/plain/records?search=x");
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/not enabled for the collection plain/);
  });
});

describe("GraphQL and OpenAPI", () => {
  it("GraphQL's list takes search and answers as REST does", async () => {
    const rest = await search("articles", "apple", { sort: "-n" }, guest);
    const a = await gql(server, '{ listArticles(search: "apple", sort: "-n") { totalItems items { id } } }');
    expect(a.errors).toBeUndefined();
    const list = a.data.listArticles as { totalItems: number; items: { id: string }[] };
    expect(list.items.map((r) => r.id)).toEqual(rest.items.map((r) => r.id));
    expect(list.totalItems).toBe(rest.totalItems);
    // a collection without search has no such argument
    const plain = await gql(server, '{ listPlain(search: "x") { totalItems } }');
    expect(plain.errors?.[0]?.message).toMatch(/search/);
  });

  it("the OpenAPI document lists search for collections that have it", async () => {
    const res = await server.fetch("/api/openapi.json", { token: su.authStore.token });
    const doc = (await res.json()) as {
      paths: Record<string, { get?: { parameters: { name: string }[] } }>;
    };
    const names = (path: string) => doc.paths[path]?.get?.parameters.map((p) => p.name) ?? [];
    expect(names("/api/collections/articles/records")).toContain("search");
    expect(names("/api/collections/plain/records")).not.toContain("search");
    expect(names("/api/collections/plain/records")).toContain("filter");
  });
});

describe("the index follows every write in its transaction", () => {
  it("create, update, delete and batch are found at once", async () => {
    const notes = su.collection("notes");
    const a = await notes.create({ title: "zebra crossing" });
    expect((await search("notes", "zebra")).items.map((r) => r.id)).toEqual([a.id]);
    await notes.update(a.id, { title: "giraffe crossing" });
    expect((await search("notes", "zebra")).totalItems).toBe(0);
    expect((await search("notes", "giraffe")).items.map((r) => r.id)).toEqual([a.id]);
    await notes.delete(a.id);
    expect((await search("notes", "giraffe")).totalItems).toBe(0);

    const batch = su.createBatch();
    batch.collection("notes").create({ title: "okapi one" });
    batch.collection("notes").create({ title: "okapi two" });
    await batch.send();
    expect((await search("notes", "okapi")).totalItems).toBe(2);
  });

  it("a batch that fails leaves no index entry", async () => {
    const batch = su.createBatch();
    batch.collection("notes").create({ title: "narwhal" });
    batch.collection("notes").create({ title: "rollback narwhal" });
    await expect(batch.send()).rejects.toMatchObject({ status: 400 });
    expect((await search("notes", "narwhal")).totalItems).toBe(0);
  });

  it("a write a hook refuses after the insert leaves no index entry", async () => {
    await expect(su.collection("notes").create({ title: "rollback walrus" })).rejects.toMatchObject({
      status: 400,
    });
    expect((await search("notes", "walrus")).totalItems).toBe(0);
    expect((await su.collection("notes").getList(1, 1, { filter: 'title ~ "walrus"' })).totalItems).toBe(0);
  });
});

describe("changing the option", () => {
  it("rebuilds the index when fields are added or removed, and follows renames", async () => {
    await su.collections.create({
      name: "docs",
      listRule: "",
      fields: [
        { name: "title", type: "text" },
        { name: "summary", type: "text" },
      ],
    } as never);
    const docs = su.collection("docs");
    const d = await docs.create({ title: "heron", summary: "pelican" });
    await expect(search("docs", "heron")).rejects.toMatchObject({ status: 400 });

    await su.collections.update("docs", { search: { fields: ["title"] } } as never);
    expect((await search("docs", "heron")).items.map((r) => r.id)).toEqual([d.id]);
    expect((await search("docs", "pelican")).totalItems).toBe(0);

    await su.collections.update("docs", { search: { fields: ["title", "summary"] } } as never);
    expect((await search("docs", "pelican")).items.map((r) => r.id)).toEqual([d.id]);

    // a renamed field stays searched under its new name; new writes still reach the index
    const c = await su.collections.getOne("docs");
    const fields = c.fields.map((f) => (f.name === "summary" ? { ...f, name: "abstract" } : f));
    await su.collections.update("docs", { fields });
    expect(((await su.collections.getOne("docs")) as never as { search: unknown }).search).toEqual({
      fields: ["title", "abstract"],
    });
    expect((await search("docs", "pelican")).items.map((r) => r.id)).toEqual([d.id]);
    await docs.update(d.id, { abstract: "cormorant" });
    expect((await search("docs", "cormorant")).items.map((r) => r.id)).toEqual([d.id]);
    expect((await search("docs", "pelican")).totalItems).toBe(0);

    // a renamed collection keeps its index
    await su.collections.update("docs", { name: "papers" });
    expect((await search("papers", "cormorant")).items.map((r) => r.id)).toEqual([d.id]);
    await su.collection("papers").create({ title: "stork" });
    expect((await search("papers", "stork")).totalItems).toBe(1);

    // a deleted field leaves the search list
    const p = await su.collections.getOne("papers");
    await su.collections.update("papers", { fields: p.fields.filter((f) => f.name !== "abstract") });
    expect(((await su.collections.getOne("papers")) as never as { search: unknown }).search).toEqual({
      fields: ["title"],
    });
    expect((await search("papers", "cormorant")).totalItems).toBe(0);
    expect((await search("papers", "heron")).totalItems).toBe(1);

    // off, then the collection goes (and a new one of the same name starts clean)
    await su.collections.update("papers", { search: null } as never);
    await expect(search("papers", "heron")).rejects.toMatchObject({ status: 400 });
    await su.collections.update("papers", { search: { fields: ["title"] } } as never);
    expect((await search("papers", "heron")).totalItems).toBe(1);
    await su.collections.truncate("papers");
    expect((await search("papers", "heron")).totalItems).toBe(0);
    await su.collections.delete("papers");
    await su.collections.create({
      name: "papers",
      listRule: "",
      fields: [{ name: "title", type: "text" }],
      search: { fields: ["title"] },
    } as never);
    expect((await search("papers", "heron")).totalItems).toBe(0);
  });

  it("survives the collections import API", async () => {
    const all = await su.collections.getFullList();
    const notes = all.find((c) => c.name === "notes")!;
    await su.collections.import([{ ...notes, search: { fields: [] } }] as never, false);
    await expect(search("notes", "okapi")).rejects.toMatchObject({ status: 400 });
    await su.collections.import([{ ...notes, search: { fields: ["title"] } }] as never, false);
    expect((await search("notes", "okapi")).totalItems).toBe(2);
  });

  it("survives basalt export and import: the target builds the index from the loaded records", async () => {
    const lines: string[] = [];
    await exportDump(server.basalt.app.db, async (line) => void lines.push(line));
    const dir = mkdtempSync(join(tmpdir(), "basalt-search-import-"));
    const pg: TestDatabase | undefined = server.store === "postgres" ? await createTestDatabase() : undefined;
    const target = await openDatabase({ url: pg?.url ?? "", sqliteFile: join(dir, "data.db") });
    try {
      async function* read() {
        for (const line of lines) for (const part of line.split("\n")) if (part) yield part;
      }
      await importDump(target, read());
    } finally {
      await target.close();
    }
    const copy = await startServer(pg ? { dbUrl: pg.url } : {}, { dataDir: dir });
    try {
      const pb = await superuserSdk(copy);
      const found = await pb.collection("articles").getList(1, 20, { search: "apple" } as never);
      expect(found.items.map((r) => r.id).sort()).toEqual([ids.private, ids.many, ids.once].sort());
      // and it keeps following writes
      const r = await pb.collection("articles").create({ title: "quince", public: true });
      const quince = await pb.collection("articles").getList(1, 20, { search: "quince" } as never);
      expect(quince.items.map((x) => x.id)).toEqual([r.id]);
    } finally {
      await copy.stop();
      rmSync(dir, { recursive: true, force: true });
      await pg?.drop();
    }
  });
});
