import { ClientResponseError } from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordEvent } from "../../src/core/events.js";
import { type Blog, setupBlog } from "../harness/fixtures/blog.js";
import { runScenarios } from "../harness/scenario.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";

let server: TestServer;
let blog: Blog;
let su: string;
const events: RecordEvent[] = [];
const ids: Record<string, string> = {};

async function status(p: Promise<unknown>): Promise<{ status: number; data: unknown; message: string }> {
  try {
    await p;
    return { status: 200, data: undefined, message: "" };
  } catch (err) {
    if (!(err instanceof ClientResponseError)) throw err;
    return { status: err.status, data: err.response.data, message: err.response.message };
  }
}

async function countPosts(): Promise<number> {
  const row = await server.basalt.app.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM "posts"');
  return Number(row?.n);
}

beforeAll(async () => {
  server = await startServer();
  blog = await setupBlog(server);
  su = await superuserToken(server);
  server.basalt.app.events.on("record", (e) => events.push(e));
  const mk = (title: string, author: string, published: boolean, views = 0) =>
    blog.admin
      .collection("posts")
      .create({ title, author, published, views, slug: title.toLowerCase().replaceAll(" ", "-") });
  ids.alicePublic = (await mk("Alice public", blog.aliceId, true, 10)).id;
  ids.alicePrivate = (await mk("Alice private", blog.aliceId, false, 20)).id;
  ids.bobPublic = (await mk("Bob public", blog.bobId, true, 30)).id;
  ids.bobPrivate = (await mk("Bob private", blog.bobId, false, 40)).id;
});
afterAll(() => server.stop());

describe("list through the SDK", () => {
  it("filters by the list rule (200) and returns PocketBase's page shape", async () => {
    const guest = await blog.guest.collection("posts").getList(1, 10, { sort: "views" });
    expect(Object.keys(guest)).toEqual(["page", "perPage", "totalItems", "totalPages", "items"]);
    expect(guest.items.map((p) => p.title)).toEqual(["Alice public", "Bob public"]);
    expect(guest).toMatchObject({ page: 1, perPage: 10, totalItems: 2, totalPages: 1 });
    const alice = await blog.alice.collection("posts").getList(1, 10, { sort: "-views" });
    expect(alice.items.map((p) => p.title)).toEqual(["Bob public", "Alice private", "Alice public"]);
    const admin = await blog.admin.collection("posts").getList(1, 2, { sort: "title" });
    expect(admin).toMatchObject({ totalItems: 4, totalPages: 2, perPage: 2 });
    expect(admin.items[0]).toMatchObject({
      collectionName: "posts",
      collectionId: expect.stringMatching(/^pbc_/),
    });
    // PocketBase encodes records through a Go map: keys in byte order
    const keys = Object.keys(admin.items[0]);
    expect(keys).toEqual([...keys].sort());
    expect(keys).toEqual(expect.arrayContaining(["collectionId", "collectionName", "id"]));
  });

  it("applies the client filter on top of the rule, and skipTotal answers -1 totals", async () => {
    const r = await blog.alice.collection("posts").getList(1, 5, { filter: "views >= 20", skipTotal: true });
    expect(r.totalItems).toBe(-1);
    expect(r.totalPages).toBe(-1);
    expect(r.items.map((p) => p.title).sort()).toEqual(["Alice private", "Bob public"]);
  });

  it("getFullList, getFirstListItem and the synthetic 404", async () => {
    const all = await blog.admin.collection("posts").getFullList({ sort: "created" });
    expect(all).toHaveLength(4);
    const first = await blog.guest
      .collection("posts")
      .getFirstListItem(blog.guest.filter("title = {:t}", { t: "Bob public" }));
    expect(first.id).toBe(ids.bobPublic);
    const missing = await status(blog.guest.collection("posts").getFirstListItem('title = "Bob private"'));
    expect(missing.status).toBe(404);
  });

  it("pages and clamps like PocketBase", async () => {
    const page2 = await blog.admin.collection("posts").getList(2, 3, { sort: "title" });
    expect(page2.items.map((p) => p.title)).toEqual(["Bob public"]);
    const res = await server.fetch("/api/collections/posts/records?perPage=100000&page=-5", { token: su });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ page: 1, perPage: 1000, totalItems: 4 });
    const dflt = (await (await server.fetch("/api/collections/posts/records", { token: su })).json()) as {
      perPage: number;
    };
    expect(dflt.perPage).toBe(30);
  });

  it("refuses @request/@collection filters from non-superusers and hidden fields in filter and sort", async () => {
    expect(
      (await status(blog.alice.collection("posts").getList(1, 5, { filter: "@request.auth.id != ''" })))
        .status,
    ).toBe(403);
    expect(
      (await status(blog.alice.collection("posts").getList(1, 5, { filter: "secretNote = 'x'" }))).status,
    ).toBe(400);
    expect((await status(blog.alice.collection("posts").getList(1, 5, { sort: "secretNote" }))).status).toBe(
      400,
    );
    expect(
      (await status(blog.admin.collection("posts").getList(1, 5, { filter: "secretNote = ''" }))).status,
    ).toBe(200);
  });
});

describe("rule outcomes with PocketBase's status codes", () => {
  runScenarios(
    () => server,
    [
      {
        name: "unknown collection is 404",
        method: "GET",
        url: "/api/collections/nope/records",
        status: 404,
        json: { message: "Missing collection context." },
      },
      {
        name: "unknown record is 404",
        method: "GET",
        url: "/api/collections/posts/records/xxxxxxxxxxxxxxx",
        status: 404,
      },
      {
        name: "a bad filter is 400",
        method: "GET",
        url: "/api/collections/posts/records?filter=title%20%3D%3D%3D",
        status: 400,
        json: { status: 400, data: {} },
      },
      {
        name: "a locked list rule is 403 for a user",
        method: "GET",
        url: "/api/collections/_superusers/records",
        token: () => blog.aliceToken,
        status: 403,
        json: { message: "Only superusers can perform this action." },
      },
      {
        name: "a locked create rule is 403 for a guest",
        method: "POST",
        url: "/api/collections/tags/records",
        body: { label: "x" },
        status: 403,
      },
      {
        name: "a locked update rule is 403 for a user",
        method: "PATCH",
        url: "/api/collections/tags/records/xxxxxxxxxxxxxxx",
        token: () => blog.aliceToken,
        body: {},
        status: 403,
      },
      {
        name: "a locked delete rule is 403 for a guest",
        method: "DELETE",
        url: "/api/collections/tags/records/xxxxxxxxxxxxxxx",
        status: 403,
      },
    ],
  );

  it("view: 200 when the rule matches, 404 when it does not", async () => {
    expect((await blog.guest.collection("posts").getOne(ids.alicePublic)).title).toBe("Alice public");
    expect((await status(blog.guest.collection("posts").getOne(ids.alicePrivate))).status).toBe(404);
    expect((await status(blog.bob.collection("posts").getOne(ids.alicePrivate))).status).toBe(404);
    expect((await blog.alice.collection("posts").getOne(ids.alicePrivate)).id).toBe(ids.alicePrivate);
  });

  it("create: a failing rule is 400 and writes nothing; a matching one creates", async () => {
    const before = await countPosts();
    const guest = await status(
      blog.guest.collection("posts").create({ title: "Nope", author: blog.aliceId }),
    );
    expect(guest.status).toBe(400);
    expect(guest.message).toBe("Failed to create record.");
    const forged = await status(
      blog.bob.collection("posts").create({ title: "Forged", author: blog.aliceId }),
    );
    expect(forged.status).toBe(400);
    expect(await countPosts()).toBe(before);
    const ok = await blog.bob.collection("posts").create({ title: "Bob new", author: blog.bobId });
    expect(ok).toMatchObject({ title: "Bob new", author: blog.bobId, published: false });
    expect(ok.id).toMatch(/^[a-z0-9]{15}$/);
    expect(ok.created).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(ok).not.toHaveProperty("secretNote");
    expect(await countPosts()).toBe(before + 1);
    await blog.admin.collection("posts").delete(ok.id);
  });

  it("update: 404 when the rule fails (including via @request.body), 200 when it matches", async () => {
    expect(
      (await status(blog.bob.collection("posts").update(ids.alicePublic, { title: "Hacked" }))).status,
    ).toBe(404);
    const steal = await status(
      blog.alice.collection("posts").update(ids.alicePublic, { author: blog.bobId }),
    );
    expect(steal.status).toBe(404);
    const ok = await blog.alice.collection("posts").update(ids.alicePublic, { title: "Alice public!" });
    expect(ok.title).toBe("Alice public!");
    expect(ok.updated > ok.created).toBe(true);
    const row = await server.basalt.app.db.get<{ title: string; author: string }>(
      'SELECT title, author FROM "posts" WHERE id = ?',
      [ids.alicePublic],
    );
    expect(row).toEqual({ title: "Alice public!", author: blog.aliceId });
  });

  it("delete: 404 when the rule fails, 204 when it matches; events only after commit", async () => {
    const mine = await blog.bob.collection("posts").create({ title: "To delete", author: blog.bobId });
    expect((await status(blog.alice.collection("posts").delete(mine.id))).status).toBe(404);
    events.length = 0;
    const res = await server.fetch(`/api/collections/posts/records/${mine.id}`, {
      method: "DELETE",
      token: blog.bobToken,
    });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect(events.map((e) => [e.action, e.collection.name, e.record.id])).toEqual([
      ["delete", "posts", mine.id],
    ]);
    expect((await status(blog.bob.collection("posts").getOne(mine.id))).status).toBe(404);
  });

  it("emits create and update events with the stored row, and none for a refused write", async () => {
    events.length = 0;
    const p = await blog.bob.collection("posts").create({ title: "Evented", author: blog.bobId });
    await blog.bob.collection("posts").update(p.id, { title: "Evented 2" });
    await status(blog.bob.collection("posts").update(p.id, { title: "x" }));
    expect(events.map((e) => e.action)).toEqual(["create", "update"]);
    expect(events[1].before?.title).toBe("Evented");
    expect(events[1].record.title).toBe("Evented 2");
    await blog.admin.collection("posts").delete(p.id);
  });
});
