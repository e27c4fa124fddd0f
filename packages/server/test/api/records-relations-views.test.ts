import type { ClientResponseError } from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordEvent } from "../../src/core/events.js";
import { type Blog, setupBlog } from "../harness/fixtures/blog.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";

let server: TestServer;
let blog: Blog;
let su = "";
const events: RecordEvent[] = [];

beforeAll(async () => {
  server = await startServer();
  blog = await setupBlog(server);
  su = await superuserToken(server);
  server.basalt.app.events.on("record", (e) => events.push(e));
});
afterAll(() => server.stop());

describe("relations on delete", () => {
  it("cascadeDelete removes dependants in the same transaction and emits one event per deleted record", async () => {
    const p = await blog.alice
      .collection("posts")
      .create({ title: "Cascade me", author: blog.aliceId, published: true });
    const c1 = await blog.bob.collection("comments").create({ post: p.id, text: "a" });
    const c2 = await blog.bob.collection("comments").create({ post: p.id, text: "b" });
    events.length = 0;
    await blog.alice.collection("posts").delete(p.id);
    expect(events.map((e) => `${e.action}:${e.collection.name}:${e.record.id}`).sort()).toEqual(
      [`delete:comments:${c1.id}`, `delete:comments:${c2.id}`, `delete:posts:${p.id}`].sort(),
    );
    const left = await server.basalt.app.db.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM comments WHERE post = ?",
      [p.id],
    );
    expect(left?.n).toBe(0);
  });

  it("refuses (400) to delete a record a required non-cascading relation points to", async () => {
    await blog.admin.collections.create({
      name: "reviews",
      type: "base",
      fields: [
        {
          name: "post",
          type: "relation",
          collectionId: (await blog.admin.collections.getOne("posts")).id,
          maxSelect: 1,
          required: true,
        },
      ],
    });
    const p = await blog.admin.collection("posts").create({ title: "Required ref", author: blog.aliceId });
    await blog.admin.collection("reviews").create({ post: p.id });
    events.length = 0;
    try {
      await blog.admin.collection("posts").delete(p.id);
      expect.unreachable();
    } catch (err) {
      expect((err as ClientResponseError).status).toBe(400);
      expect((err as ClientResponseError).response.message).toBe(
        "Failed to delete record. Make sure that the record is not part of a required relation reference.",
      );
    }
    expect((await blog.admin.collection("posts").getOne(p.id)).id).toBe(p.id);
    expect(events).toHaveLength(0);
  });
});

describe("view collections", () => {
  beforeAll(async () => {
    await blog.admin
      .collection("posts")
      .create({ title: "Viewed one", author: blog.aliceId, published: true, views: 7 });
    await blog.admin
      .collection("posts")
      .create({ title: "Viewed two", author: blog.bobId, published: false, views: 9 });
    await blog.admin.collections.create({
      name: "post_stats",
      type: "view",
      listRule: "published = true",
      viewRule: "published = true",
      viewQuery: "SELECT id, title, views, published FROM posts",
    });
  });

  it("lists and views with the same parameters and rules", async () => {
    const list = await blog.guest
      .collection("post_stats")
      .getList(1, 10, { filter: "views > 5", sort: "-views" });
    expect(list.items.map((r) => r.title)).toEqual(["Viewed one"]);
    expect(list.items[0]).toMatchObject({ collectionName: "post_stats", views: 7, published: true });
    const all = await blog.admin
      .collection("post_stats")
      .getList(1, 10, { filter: "views > 5", fields: "title" });
    expect(all.items).toEqual(expect.arrayContaining([{ title: "Viewed one" }, { title: "Viewed two" }]));
    const one = await blog.guest.collection("post_stats").getOne(list.items[0].id);
    expect(one.title).toBe("Viewed one");
    const hidden =
      all.items.length === 2
        ? (await blog.admin.collection("post_stats").getFirstListItem("title = 'Viewed two'")).id
        : "";
    const res = await server.fetch(`/api/collections/post_stats/records/${hidden}`);
    expect(res.status).toBe(404);
  });

  it("refuses writes with 400 Unsupported collection type", async () => {
    for (const [method, url] of [
      ["POST", "/api/collections/post_stats/records"],
      ["PATCH", "/api/collections/post_stats/records/abc"],
      ["DELETE", "/api/collections/post_stats/records/abc"],
    ] as const) {
      const res = await server.fetch(url, { method, token: su, json: { title: "x" } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toBe("Unsupported collection type.");
    }
  });
});
