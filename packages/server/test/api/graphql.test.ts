import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALICE, type Blog, setupBlog } from "../harness/fixtures/blog.js";
import { errorStatus, gql } from "../harness/graphql.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";

let server: TestServer;
let blog: Blog;
let suToken: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  server = await startServer();
  blog = await setupBlog(server);
  suToken = await superuserToken(server);
  const a = blog.admin;
  ids.t1 = (await a.collection("tags").create({ label: "one" })).id;
  ids.pub = (
    await a
      .collection("posts")
      .create({ title: "Public post", author: blog.aliceId, published: true, tags: [ids.t1] })
  ).id;
  for (let i = 0; i < 20; i++) {
    await a
      .collection("comments")
      .create({ post: ids.pub, text: `c${i}`, by: i % 2 ? blog.bobId : blog.aliceId });
  }
});
afterAll(() => server.stop());

describe("transport", () => {
  it("runs queries over GET and refuses mutations there", async () => {
    const q = await gql(server, "{ listTags { totalItems } }", { get: true });
    expect(q.status).toBe(200);
    expect(q.data).toEqual({ listTags: { totalItems: 1 } });
    const m = await gql(server, 'mutation { createTags(data: {label: "x"}) { id } }', {
      get: true,
      token: suToken,
    });
    expect(m.status).toBe(405);
    expect(m.errors?.[0].extensions?.code).toBe("OPERATION_NOT_ALLOWED");
    expect((await blog.admin.collection("tags").getList(1, 1)).totalItems).toBe(1);
  });

  it("answers bad requests with 400 and GraphQL errors", async () => {
    const noQuery = await server.fetch("/api/graphql", { method: "POST", json: {} });
    expect(noQuery.status).toBe(400);
    const badVars = await server.fetch("/api/graphql", {
      method: "POST",
      json: { query: "{ listTags { page } }", variables: [1] },
    });
    expect(badVars.status).toBe(400);
    const syntax = await gql(server, "{ listTags { ");
    expect(syntax.status).toBe(400);
    expect(syntax.errors?.[0].message).toMatch(/Syntax Error/);
    const unknown = await gql(server, "{ listNothing { page } }");
    expect(unknown.status).toBe(400);
    const wrongType = await gql(server, 'query { listTags(page: "x") { page } }');
    expect(wrongType.status).toBe(400);
    const badVarsGet = await server.fetch(
      `/api/graphql?query=${encodeURIComponent("{ listTags { page } }")}&variables=%7B`,
    );
    expect(badVarsGet.status).toBe(400);
  });
});

describe("schema", () => {
  it("follows collection changes at once", async () => {
    const before = await gql(server, "{ listNotes { totalItems } }", { token: suToken });
    expect(before.status).toBe(400);
    const notes = await blog.admin.collections.create({
      name: "notes",
      type: "base",
      listRule: "",
      viewRule: "",
      fields: [{ name: "body", type: "text" }],
    });
    await blog.admin.collection("notes").create({ body: "hello" });
    const after = await gql(server, "{ listNotes { items { body } } }");
    expect(after.data).toEqual({ listNotes: { items: [{ body: "hello" }] } });
    await blog.admin.collections.update(notes.id, {
      fields: [...notes.fields.filter((f) => f.name !== "body"), { name: "text", type: "text" }],
    });
    const renamed = await gql(server, "{ listNotes { items { body } } }");
    expect(renamed.status).toBe(400);
    expect((await gql(server, "{ listNotes { items { text } } }")).data).toEqual({
      listNotes: { items: [{ text: "" }] },
    });
    await blog.admin.collections.delete(notes.id);
    expect((await gql(server, "{ listNotes { totalItems } }")).status).toBe(400);
  });

  it("prints the schema as SDL with a type per collection", async () => {
    const sdl = (await server.basalt.app.graphql()).sdl();
    expect(sdl).toContain("type PostsRecord");
    expect(sdl).toContain("listPosts(");
    expect(sdl).toContain("comments_via_post: [CommentsRecord!]!");
    expect(sdl).toContain("authWithPasswordUsers(");
    expect(sdl).toContain("watchPosts(");
    expect(sdl).not.toMatch(/\bpassword: String\n\s+tokenKey/);
    expect(sdl).not.toContain("tokenKey");
  });
});

describe("relations", () => {
  it("loads each relation field once per level, whatever the number of records (no N+1)", async () => {
    const records = server.basalt.app.records;
    const original = records.related.bind(records);
    const originalBack = records.backRelated.bind(records);
    let calls = 0;
    let backCalls = 0;
    records.related = (...args) => {
      calls++;
      return original(...args);
    };
    records.backRelated = (...args) => {
      backCalls++;
      return originalBack(...args);
    };
    try {
      const a = await gql(
        server,
        "{ listComments(perPage: 50) { items { text expand { by { email } post { title expand { tags { label } comments_via_post { id } } } } } } }",
        { token: suToken },
      );
      expect(a.errors).toBeUndefined();
      const items = (a.data.listComments as { items: { expand: { by: { email: string } } }[] }).items;
      expect(items).toHaveLength(20);
      expect(items.every((i) => i.expand.by.email.endsWith("@example.com"))).toBe(true);
      // by, post, then post.tags: three relation loads; one back-relation load
      expect(calls).toBe(3);
      expect(backCalls).toBe(1);
    } finally {
      records.related = original;
      records.backRelated = originalBack;
    }
  });
});

describe("sign-in", () => {
  it("returns the same token and record as REST, usable on REST", async () => {
    const restRes = await server.fetch("/api/collections/users/auth-with-password", {
      method: "POST",
      json: { identity: ALICE.email, password: ALICE.password },
    });
    const restBody = (await restRes.json()) as { token: string; record: Record<string, unknown> };
    const g = await gql(
      server,
      "mutation($i: String!, $p: String!) { authWithPasswordUsers(identity: $i, password: $p) { token record { id email emailVisibility verified name collectionName } } }",
      { variables: { i: ALICE.email, p: ALICE.password } },
    );
    const auth = g.data.authWithPasswordUsers as { token: string; record: Record<string, unknown> };
    expect(auth.record).toEqual({
      id: restBody.record.id,
      email: restBody.record.email,
      emailVisibility: restBody.record.emailVisibility,
      verified: restBody.record.verified,
      name: restBody.record.name,
      collectionName: "users",
    });
    const [h1, p1] = auth.token.split(".");
    const [h2, p2] = restBody.token.split(".");
    expect(h1).toBe(h2);
    const claims = (p: string) => {
      const { exp: _e, ...rest } = JSON.parse(Buffer.from(p, "base64url").toString());
      return rest;
    };
    expect(claims(p1)).toEqual(claims(p2));
    const me = await server.fetch(`/api/collections/users/records/${blog.aliceId}`, { token: auth.token });
    expect(me.status).toBe(200);
    const refreshed = await gql(server, "mutation { authRefreshUsers { token record { id } } }", {
      token: auth.token,
    });
    expect((refreshed.data.authRefreshUsers as { record: { id: string } }).record.id).toBe(blog.aliceId);
  });

  it("refuses as REST does", async () => {
    const wrong = await gql(
      server,
      'mutation { authWithPasswordUsers(identity: "alice@example.com", password: "nope-nope") { token } }',
    );
    expect(errorStatus(wrong)).toBe(400);
    expect(wrong.errors?.[0].message).toBe("Failed to authenticate.");
    const guest = await gql(server, "mutation { authRefreshUsers { token } }");
    expect(errorStatus(guest)).toBe(401);
    const other = await gql(server, "mutation { authRefreshUsers { token } }", { token: suToken });
    expect(errorStatus(other)).toBe(403);
  });
});

describe("rate limits", () => {
  it("count GraphQL sign-ins and lists under the REST routes' labels", async () => {
    await blog.admin.settings.update({
      rateLimits: {
        enabled: true,
        rules: [
          { label: "*:authWithPassword", maxRequests: 2, duration: 60, audience: "" },
          { label: "comments:list", maxRequests: 3, duration: 60, audience: "" },
        ],
      },
    });
    try {
      const signIn = () =>
        gql(
          server,
          'mutation { authWithPasswordUsers(identity: "bob@example.com", password: "wrong-one") { token } }',
        );
      const signIns = [];
      for (let i = 0; i < 3; i++) signIns.push(errorStatus(await signIn()));
      expect(signIns).toEqual([400, 400, 429]);
      const lists = [];
      for (let i = 0; i < 4; i++)
        lists.push(errorStatus(await gql(server, "{ listComments { totalItems } }")));
      expect(lists).toEqual([undefined, undefined, undefined, 429]);
      // superusers are not limited, as on REST
      expect(
        errorStatus(await gql(server, "{ listTags { totalItems } }", { token: suToken })),
      ).toBeUndefined();
    } finally {
      await blog.admin.settings.update({ rateLimits: { enabled: false } });
    }
  });
});

describe("protection", () => {
  it("refuses queries nested past the depth limit", async () => {
    const deep =
      "{ listComments { items { expand { post { expand { comments_via_post { expand { post { expand { comments_via_post { expand { post { id } } } } } } } } } } } } }";
    const a = await gql(server, deep, { token: suToken });
    expect(a.status).toBe(400);
    expect(a.errors?.[0].extensions?.code).toBe("DEPTH_LIMIT");
  });

  it("refuses queries past the cost limit before running them", async () => {
    const wide =
      "{ listPosts(perPage: 500) { items { expand { comments_via_post { id text expand { by { id email name } } } } } } }";
    const a = await gql(server, wide, { token: suToken });
    expect(a.status).toBe(400);
    expect(a.errors?.[0].extensions?.code).toBe("COST_LIMIT");
    // the same shape through a variable page size
    const v = await gql(
      server,
      wide.replace("perPage: 500", "perPage: $n").replace("{ listPosts", "query($n: Int) { listPosts"),
      {
        token: suToken,
        variables: { n: 500 },
      },
    );
    expect(v.errors?.[0].extensions?.code).toBe("COST_LIMIT");
    const fine = await gql(
      server,
      "{ listPosts(perPage: 10) { items { expand { comments_via_post { id } } } } }",
      {
        token: suToken,
      },
    );
    expect(fine.errors).toBeUndefined();
  });

  it("refuses documents with too many aliases or tokens", async () => {
    const aliases = Array.from({ length: 31 }, (_, i) => `a${i}: listTags { page }`).join(" ");
    const a = await gql(server, `{ ${aliases} }`);
    expect(a.status).toBe(400);
    expect(a.errors?.[0].extensions?.code).toBe("ALIAS_LIMIT");
    const huge = `{ listTags { ${"page ".repeat(6000)} } }`;
    const b = await gql(server, huge);
    expect(b.status).toBe(400);
    expect(b.errors?.[0].message).toMatch(/token/i);
  });

  it("clamps page sizes to the list-size cap", async () => {
    const a = await gql(server, "{ listComments(perPage: 100000) { perPage } }");
    expect(a.data).toEqual({ listComments: { perPage: 500 } });
  });

  it("lets only superusers introspect by default", async () => {
    const q = "{ __schema { queryType { name } } }";
    const guest = await gql(server, q);
    expect(guest.status).toBe(400);
    expect(guest.errors?.[0].extensions?.code).toBe("INTROSPECTION_DISABLED");
    const user = await gql(server, '{ __type(name: "PostsRecord") { name } }', { token: blog.aliceToken });
    expect(user.errors?.[0].extensions?.code).toBe("INTROSPECTION_DISABLED");
    expect((await gql(server, q, { token: suToken })).data).toEqual({
      __schema: { queryType: { name: "Query" } },
    });
    expect((await gql(server, "{ __typename }")).data).toEqual({ __typename: "Query" });
  });

  it("never sends SQL or driver text in errors", async () => {
    await server.basalt.app.db.exec(`DROP TABLE ${server.basalt.app.db.dialect.quoteIdent("tags")}`);
    const a = await gql(server, "{ listTags { items { id } } }");
    expect(a.status).toBe(200);
    expect(errorStatus(a)).toBe(500);
    expect(a.errors?.[0].message).toBe("Something went wrong while processing your request.");
    const text = JSON.stringify(a);
    expect(text).not.toMatch(/select |from |\\"tags\\"|no such table|relation "|sqlite|\.js:/i);
  });
});

describe("introspection setting", () => {
  it("opens introspection to everyone with graphqlIntrospection: all, and closes it with off", async () => {
    const open = await startServer({ graphqlIntrospection: "all" });
    const closed = await startServer({ graphqlIntrospection: "off" });
    try {
      const q = "{ __schema { queryType { name } } }";
      expect((await gql(open, q)).data).toEqual({ __schema: { queryType: { name: "Query" } } });
      const su = await superuserToken(closed);
      expect((await gql(closed, q, { token: su })).errors?.[0].extensions?.code).toBe(
        "INTROSPECTION_DISABLED",
      );
    } finally {
      await open.stop();
      await closed.stop();
    }
  });
});
