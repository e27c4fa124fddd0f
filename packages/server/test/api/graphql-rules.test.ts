import type PocketBase from "pocketbase";
import { ClientResponseError } from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Blog, setupBlog } from "../harness/fixtures/blog.js";
import { errorStatus, type GqlAnswer, gql } from "../harness/graphql.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";

// Side by side (issue 16): for each caller and rule case, the SDK on REST and GraphQL give the same records
// and the same refusals, through the one records service.

let server: TestServer;
let blog: Blog;
let suToken: string;
const ids: Record<string, string> = {};

const POST_FIELDS =
  "id collectionId collectionName title slug body views rating published status labels author tags meta homepage contact publishAt secretNote created updated";
const USER_FIELDS =
  "id collectionId collectionName email emailVisibility verified name avatar created updated";
const COMMENT_FIELDS = "id collectionId collectionName post text by";

type Who = "guest" | "alice" | "bob" | "admin";
const WHO: Who[] = ["guest", "alice", "bob", "admin"];

function sdkOf(who: Who): PocketBase {
  return blog[who];
}
function tokenOf(who: Who): string | undefined {
  return who === "guest"
    ? undefined
    : who === "admin"
      ? suToken
      : who === "alice"
        ? blog.aliceToken
        : blog.bobToken;
}

/** A GraphQL record with the nulls dropped where REST sends no key (hidden fields, e-mails, expand). */
function asRest(gqlRecord: Record<string, unknown>, rest: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(gqlRecord)) {
    if (k === "expand") continue;
    if (v === null && !(k in rest)) continue;
    out[k] = v;
  }
  return out;
}

function withoutExpand(r: Record<string, unknown>): Record<string, unknown> {
  const { expand: _e, ...rest } = r;
  return rest;
}

/** REST's outcome: the JSON, or the refusal's status and message. */
async function rest<T>(
  fn: () => Promise<T>,
): Promise<{ ok: T } | { status: number; message: string; data: unknown }> {
  try {
    return { ok: await fn() };
  } catch (err) {
    if (err instanceof ClientResponseError) {
      return { status: err.status, message: String(err.response.message), data: err.response.data };
    }
    throw err;
  }
}

function expectSameRefusal(r: { status: number; message: string; data: unknown }, g: GqlAnswer) {
  expect(g.status).toBe(200);
  expect(errorStatus(g)).toBe(r.status);
  expect(g.errors?.[0].message).toBe(r.message);
  expect(g.errors?.[0].extensions?.data).toEqual(r.data);
}

beforeAll(async () => {
  server = await startServer();
  blog = await setupBlog(server);
  suToken = await superuserToken(server);
  const a = blog.admin;
  ids.t1 = (await a.collection("tags").create({ label: "one" })).id;
  ids.t2 = (await a.collection("tags").create({ label: "two" })).id;
  ids.pub = (
    await a.collection("posts").create({
      title: "Public post",
      author: blog.aliceId,
      published: true,
      tags: [ids.t2, ids.t1],
      secretNote: "psst",
      meta: { a: 1 },
    })
  ).id;
  ids.priv = (
    await a.collection("posts").create({ title: "Private post", author: blog.aliceId, published: false })
  ).id;
  ids.bobs = (await a.collection("posts").create({ title: "Bob's draft", author: blog.bobId })).id;
  ids.c1 = (await a.collection("comments").create({ post: ids.pub, text: "first", by: blog.bobId })).id;
  ids.c2 = (
    await a.collection("comments").create({ post: ids.priv, text: "on private", by: blog.aliceId })
  ).id;
  await a.collection("users").update(blog.bobId, { emailVisibility: true });
  await a.collections.create({ name: "vault", type: "base", fields: [{ name: "v", type: "text" }] });
});
afterAll(() => server.stop());

describe.each(WHO)("as %s", (who) => {
  it("lists the same posts, totals and all, with hidden fields as REST", async () => {
    const r = await sdkOf(who).collection("posts").getList(1, 30, { sort: "title" });
    const g = await gql(
      server,
      `{ listPosts(sort: "title") { page perPage totalItems totalPages items { ${POST_FIELDS} } } }`,
      { token: tokenOf(who) },
    );
    expect(g.errors).toBeUndefined();
    const page = g.data.listPosts as { items: Record<string, unknown>[] } & Record<string, number>;
    expect([page.page, page.perPage, page.totalItems, page.totalPages]).toEqual([
      r.page,
      r.perPage,
      r.totalItems,
      r.totalPages,
    ]);
    expect(page.items.map((it, i) => asRest(it, r.items[i]))).toEqual(r.items.map(withoutExpand));
    if (who !== "admin") expect(page.items.every((it) => it.secretNote === null)).toBe(true);
  });

  it("views (or refuses) each post as REST does", async () => {
    for (const id of [ids.pub, ids.priv, ids.bobs, "nope"]) {
      const r = await rest(() => sdkOf(who).collection("posts").getOne(id));
      const g = await gql(server, `query($id: ID!) { viewPosts(id: $id) { ${POST_FIELDS} } }`, {
        variables: { id },
        token: tokenOf(who),
      });
      if ("ok" in r) {
        expect(g.errors).toBeUndefined();
        expect(asRest(g.data.viewPosts as Record<string, unknown>, r.ok)).toEqual(withoutExpand(r.ok));
      } else {
        expect(g.data.viewPosts).toBeNull();
        expectSameRefusal(r, g);
      }
    }
  });

  it("shows users and e-mails as REST does (list rule, emailVisibility, owner)", async () => {
    const r = await rest(() => sdkOf(who).collection("users").getList(1, 30, { sort: "email" }));
    const g = await gql(server, `{ listUsers(sort: "email") { totalItems items { ${USER_FIELDS} } } }`, {
      token: tokenOf(who),
    });
    if (!("ok" in r)) throw new Error("users list refused");
    const items = (g.data.listUsers as { items: Record<string, unknown>[] }).items;
    expect(items.map((it, i) => asRest(it, r.ok.items[i]))).toEqual(r.ok.items);
  });

  it("expands relations and back-relations with each record's own view rule", async () => {
    const r = await sdkOf(who).collection("comments").getList(1, 30, { sort: "text", expand: "post,by" });
    const g = await gql(
      server,
      `{ listComments(sort: "text") { items { ${COMMENT_FIELDS} expand { post { ${POST_FIELDS} } by { ${USER_FIELDS} } } } } }`,
      { token: tokenOf(who) },
    );
    const items = (g.data.listComments as { items: Record<string, unknown>[] }).items;
    expect(items).toHaveLength(r.items.length);
    items.forEach((it, i) => {
      const restExpand = (r.items[i].expand ?? {}) as Record<string, Record<string, unknown>>;
      const e = it.expand as Record<string, Record<string, unknown> | null>;
      for (const key of ["post", "by"]) {
        if (restExpand[key])
          expect(asRest(e[key] as Record<string, unknown>, restExpand[key])).toEqual(restExpand[key]);
        else expect(e[key]).toBeNull();
      }
    });
    const rp = await rest(() =>
      sdkOf(who).collection("posts").getOne(ids.pub, { expand: "comments_via_post,tags" }),
    );
    const gp = await gql(
      server,
      `query($id: ID!) { viewPosts(id: $id) { expand { comments_via_post { ${COMMENT_FIELDS} } tags { id label } } } }`,
      { variables: { id: ids.pub }, token: tokenOf(who) },
    );
    if (!("ok" in rp)) throw new Error("public post refused");
    const ge = (gp.data.viewPosts as { expand: Record<string, unknown[]> }).expand;
    const re = (rp.ok.expand ?? {}) as Record<string, Record<string, unknown>[] | Record<string, unknown>>;
    const list = (v: unknown) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    expect(ge.comments_via_post).toEqual(list(re.comments_via_post).map(withoutExpand));
    expect(ge.tags.map((t) => (t as { id: string }).id)).toEqual(
      list(re.tags).map((t) => (t as { id: string }).id),
    );
  });

  it("refuses a superuser-only collection as REST does", async () => {
    const r = await rest(() => sdkOf(who).collection("vault").getList(1, 5));
    const g = await gql(server, "{ listVault { totalItems } }", { token: tokenOf(who) });
    if ("ok" in r) expect(g.data.listVault).toEqual({ totalItems: r.ok.totalItems });
    else expectSameRefusal(r, g);
  });

  it("creates, updates and deletes under the same rules and validation", async () => {
    const me = who === "bob" ? blog.bobId : blog.aliceId;
    const bodies = [
      { title: `By ${who}`, author: me },
      { title: "x", author: me },
      { title: `Spoofed ${who}`, author: blog.aliceId === me ? blog.bobId : blog.aliceId },
      { title: `Bad ${who}`, author: me, views: 5000, homepage: "https://elsewhere.test" },
    ];
    for (const body of bodies) {
      const r = await rest(() => sdkOf(who).collection("posts").create(body));
      const g = await gql(
        server,
        `mutation($d: PostsCreateInput!) { createPosts(data: $d) { ${POST_FIELDS} } }`,
        { variables: { d: body }, token: tokenOf(who) },
      );
      if ("ok" in r) {
        expect(g.errors).toBeUndefined();
        const created = g.data.createPosts as Record<string, unknown>;
        expect(created.title).toBe(r.ok.title);
        expect(created.author).toBe(r.ok.author);
      } else {
        expect(g.data.createPosts).toBeNull();
        expectSameRefusal(r, g);
      }
    }
    for (const id of [ids.pub, ids.bobs]) {
      const body = { rating: 4 };
      const r = await rest(() => sdkOf(who).collection("posts").update(id, body));
      const g = await gql(
        server,
        `mutation($id: ID!) { updatePosts(id: $id, data: {rating: 4}) { id rating } }`,
        {
          variables: { id },
          token: tokenOf(who),
        },
      );
      if ("ok" in r) expect(g.data.updatePosts).toEqual({ id, rating: 4 });
      else expectSameRefusal(r, g);
    }
    // deletes: one throwaway post each way, owned by the caller when it is a user
    const owner = who === "bob" ? blog.bobId : blog.aliceId;
    const a = (await blog.admin.collection("posts").create({ title: "Delete me A", author: owner })).id;
    const b = (await blog.admin.collection("posts").create({ title: "Delete me B", author: owner })).id;
    const r = await rest(() => sdkOf(who).collection("posts").delete(a));
    const g = await gql(server, "mutation($id: ID!) { deletePosts(id: $id) }", {
      variables: { id: b },
      token: tokenOf(who),
    });
    if ("ok" in r) expect(g.data.deletePosts).toBe(true);
    else expectSameRefusal(r, g);
  });
});

describe("bad input, side by side", () => {
  it("refuses the same bad filters and sorts", async () => {
    for (const [filter, sort] of [
      ["title ==", ""],
      ["nope = 1", ""],
      ["secretNote = 'psst'", ""],
      ["", "secretNote"],
      ["@collection.users.email != ''", ""],
    ]) {
      const r = await rest(() => blog.alice.collection("posts").getList(1, 5, { filter, sort }));
      const g = await gql(
        server,
        "query($f: String, $s: String) { listPosts(filter: $f, sort: $s) { totalItems } }",
        {
          variables: { f: filter, s: sort },
          token: blog.aliceToken,
        },
      );
      if ("ok" in r) expect(g.data.listPosts).toEqual({ totalItems: r.ok.totalItems });
      else expectSameRefusal(r, g);
    }
  });

  it("binds filter parameters as values, never as filter text", async () => {
    const tricky = `it's "quoted" \\ here`;
    await blog.admin.collection("posts").create({ title: tricky, author: blog.aliceId, published: true });
    const find = (title: unknown) =>
      gql(server, 'query($p: JSON) { listPosts(filter: "title = {:t}", params: $p) { items { title } } }', {
        variables: { p: { t: title } },
      });
    expect((await find(tricky)).data.listPosts).toEqual({ items: [{ title: tricky }] });
    const injected = await find("x' || title != '");
    expect(injected.data.listPosts).toEqual({ items: [] });
    const simple = "Bob's draft";
    const r = await blog.bob.collection("posts").getList(1, 5, {
      filter: blog.bob.filter("title = {:t}", { t: simple }),
    });
    const g = await gql(
      server,
      'query($p: JSON) { listPosts(filter: "title = {:t}", params: $p) { items { id } } }',
      {
        variables: { p: { t: simple } },
        token: blog.bobToken,
      },
    );
    expect(g.data.listPosts).toEqual({ items: r.items.map((i) => ({ id: i.id })) });
    expect(r.items).toHaveLength(1);
    const missing = await gql(server, '{ listPosts(filter: "title = {:t}", params: {}) { totalItems } }');
    expect(errorStatus(missing)).toBe(400);
    expect(missing.errors?.[0].extensions?.data).toMatchObject({ t: { code: "validation_invalid_value" } });
    const object = await find({ nested: true });
    expect(errorStatus(object)).toBe(400);
    const backslash = await find("ends with \\");
    expect(errorStatus(backslash)).toBe(400);
  });
});
