import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Blog, setupBlog } from "../harness/fixtures/blog.js";
import { startServer, type TestServer } from "../harness/server.js";

let server: TestServer;
let blog: Blog;
const ids: Record<string, string> = {};

beforeAll(async () => {
  server = await startServer();
  blog = await setupBlog(server);
  const a = blog.admin;
  ids.t1 = (await a.collection("tags").create({ label: "one" })).id;
  ids.t2 = (await a.collection("tags").create({ label: "two" })).id;
  ids.pub = (
    await a.collection("posts").create({
      title: "Public post",
      author: blog.aliceId,
      published: true,
      tags: [ids.t2, ids.t1],
      body: "<p>Hello <b>big</b>   world</p><script>alert(1)</script><p>Second paragraph here</p>",
    })
  ).id;
  ids.priv = (
    await a.collection("posts").create({ title: "Private post", author: blog.aliceId, published: false })
  ).id;
  ids.c1 = (await a.collection("comments").create({ post: ids.pub, text: "first", by: blog.bobId })).id;
  ids.c2 = (await a.collection("comments").create({ post: ids.pub, text: "second", by: blog.aliceId })).id;
  ids.c3 = (await a.collection("comments").create({ post: ids.priv, text: "on private", by: blog.bobId })).id;
});
afterAll(() => server.stop());

describe("expand", () => {
  it("expands multiple relations in stored order and single relations as objects", async () => {
    const p = await blog.alice.collection("posts").getOne(ids.pub, { expand: "tags,author" });
    expect(p.expand?.tags.map((t: { label: string }) => t.label)).toEqual(["two", "one"]);
    expect(p.expand?.author).toMatchObject({
      id: blog.aliceId,
      email: "alice@example.com",
      collectionName: "users",
    });
    expect(p.expand?.author).not.toHaveProperty("password");
    expect(p.expand?.author).not.toHaveProperty("tokenKey");
  });

  it("checks each expanded record against its own view rule", async () => {
    const guest = await blog.guest.collection("posts").getOne(ids.pub, { expand: "author,tags" });
    expect(guest.expand).not.toHaveProperty("author");
    expect(guest.expand?.tags).toHaveLength(2);
    const bob = await blog.bob.collection("comments").getList(1, 10, { expand: "post", sort: "text" });
    const byText = Object.fromEntries(bob.items.map((c) => [c.text, c]));
    expect(byText.first.expand?.post.id).toBe(ids.pub);
    expect(byText["on private"].expand).toBeUndefined();
    expect(byText["on private"]).not.toHaveProperty("expand");
  });

  it("expands back-relations and nested paths", async () => {
    const p = await blog.admin.collection("posts").getOne(ids.pub, { expand: "comments_via_post.by" });
    const comments = p.expand?.comments_via_post as { text: string; expand?: { by: { email: string } } }[];
    expect(comments.map((c) => c.text).sort()).toEqual(["first", "second"]);
    const first = comments.find((c) => c.text === "first");
    expect(first?.expand?.by.email).toBe("bob@example.com");
  });

  it("ignores unknown relations and hidden or missing paths without failing", async () => {
    const p = await blog.guest.collection("posts").getOne(ids.pub, { expand: "nope,title,nothing_via_x" });
    expect(p).not.toHaveProperty("expand");
  });
});

describe("fields", () => {
  it("picks top-level and nested expand paths", async () => {
    const p = await blog.admin
      .collection("posts")
      .getOne(ids.pub, { expand: "author,tags", fields: "id,title,expand.author.email,expand.tags.label" });
    expect(p).toEqual({
      id: ids.pub,
      title: "Public post",
      expand: { author: { email: "alice@example.com" }, tags: [{ label: "two" }, { label: "one" }] },
    });
  });

  it("supports * at any level and applies to list items only", async () => {
    const res = await blog.admin
      .collection("posts")
      .getList(1, 1, { filter: `id = "${ids.pub}"`, expand: "author", fields: "title,expand.author.*" });
    expect(res.totalItems).toBe(1);
    expect(Object.keys(res.items[0])).toEqual(["expand", "title"]);
    expect(res.items[0].expand?.author).toMatchObject({ email: "alice@example.com", id: blog.aliceId });
    const all = await blog.admin
      .collection("posts")
      .getOne(ids.pub, { fields: "*,expand.author.email", expand: "author" });
    expect(all).toHaveProperty("body");
    expect(all.expand).toEqual({ author: { email: "alice@example.com" } });
  });

  it("excerpt(max, withEllipsis) turns HTML into a short plain text", async () => {
    const p = await blog.admin.collection("posts").getOne(ids.pub, { fields: "body:excerpt(20,true)" });
    expect(p).toEqual({ body: "Hello big world Seco..." });
    const q = await blog.admin.collection("posts").getOne(ids.pub, { fields: "body:excerpt(200)" });
    expect(q.body).toBe("Hello big world Second paragraph here");
    const bad = await server.fetch(`/api/collections/posts/records/${ids.pub}?fields=body:excerpt(0)`, {
      token: blog.aliceToken,
    });
    expect(bad.status).toBe(400);
  });

  it("cannot reveal secrets through fields, expand, filter or sort", async () => {
    const r = await blog.alice.collection("posts").getOne(ids.pub, {
      expand: "author",
      fields: "*,secretNote,expand.author.password,expand.author.tokenKey",
    });
    expect(JSON.stringify(r)).not.toMatch(/argon2|tokenKey|secretNote/);
    for (const q of [
      "filter=author.password!=''",
      "filter=author.tokenKey!=''",
      "sort=author.tokenKey",
      "filter=secretNote=''",
    ]) {
      const res = await server.fetch(`/api/collections/posts/records?${q}`, { token: blog.aliceToken });
      expect(res.status, q).toBe(400);
    }
    const users = await server.fetch("/api/collections/users/records?filter=password!=''", {
      token: blog.aliceToken,
    });
    expect(users.status).toBe(400);
  });
});
