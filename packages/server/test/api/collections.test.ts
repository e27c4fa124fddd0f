import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, userToken } from "../harness/fixtures/users.js";
import { runScenarios } from "../harness/scenario.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";

let server: TestServer;
let su = "";
let user = "";
const token = () => su;

async function listNames(): Promise<string[]> {
  const res = await server.fetch("/api/collections?perPage=500", { token: su });
  return ((await res.json()) as { items: { name: string }[] }).items.map((c) => c.name).sort();
}

async function snapshot(): Promise<string> {
  const res = await server.fetch("/api/collections?perPage=500", { token: su });
  return JSON.stringify(await res.json());
}

beforeAll(async () => {
  server = await startServer();
  su = await superuserToken(server);
  await createUser(server, "alice@example.com", "alice-password-1");
  user = await userToken(server, "alice@example.com", "alice-password-1");
  const create = (body: unknown) =>
    server.fetch("/api/collections", { method: "POST", token: su, json: body });
  expect(
    (await create({ name: "authors", type: "base", fields: [{ name: "name", type: "text" }] })).status,
  ).toBe(200);
  const authors = server.basalt.app.collections.get("authors");
  const posts = await create({
    name: "posts",
    type: "base",
    fields: [
      { name: "title", type: "text", required: true },
      { name: "author", type: "relation", collectionId: authors.id, maxSelect: 1 },
    ],
    indexes: ["CREATE UNIQUE INDEX idx_posts_title ON posts (title)"],
  });
  expect(posts.status, await posts.text()).toBe(200);
});
afterAll(() => server.stop());

describe("collections API access", () => {
  runScenarios(
    () => server,
    [
      {
        name: "list needs auth",
        method: "GET",
        url: "/api/collections",
        status: 401,
        json: { status: 401, data: {} },
      },
      { name: "list refuses a user", method: "GET", url: "/api/collections", token: () => user, status: 403 },
      { name: "view refuses a guest", method: "GET", url: "/api/collections/posts", status: 401 },
      {
        name: "create refuses a user",
        method: "POST",
        url: "/api/collections",
        token: () => user,
        body: { name: "x" },
        status: 403,
      },
      {
        name: "update refuses a user",
        method: "PATCH",
        url: "/api/collections/posts",
        token: () => user,
        body: {},
        status: 403,
      },
      {
        name: "delete refuses a user",
        method: "DELETE",
        url: "/api/collections/posts",
        token: () => user,
        status: 403,
      },
      {
        name: "truncate refuses a guest",
        method: "DELETE",
        url: "/api/collections/posts/truncate",
        status: 401,
      },
      {
        name: "import refuses a user",
        method: "PUT",
        url: "/api/collections/import",
        token: () => user,
        body: {},
        status: 403,
      },
      {
        name: "scaffolds refuse a guest",
        method: "GET",
        url: "/api/collections/meta/scaffolds",
        status: 401,
      },
      {
        name: "a forged token is a guest",
        method: "GET",
        url: "/api/collections",
        token:
          "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpZCI6IngiLCJ0eXBlIjoiYXV0aCIsImNvbGxlY3Rpb25JZCI6InBiY18zMTQyNjM1ODIzIiwiZXhwIjo5OTk5OTk5OTk5fQ.",
        status: 401,
      },
    ],
  );
});

describe("collections API reads", () => {
  runScenarios(
    () => server,
    [
      {
        name: "list pages with PocketBase's shape",
        method: "GET",
        url: "/api/collections?perPage=2&page=2",
        token,
        status: 200,
        json: { page: 2, perPage: 2, totalItems: 8, totalPages: 4 },
      },
      {
        name: "skipTotal gives -1 totals",
        method: "GET",
        url: "/api/collections?skipTotal=1",
        token,
        status: 200,
        json: { page: 1, perPage: 30, totalItems: -1, totalPages: -1 },
      },
      {
        name: "view by name",
        method: "GET",
        url: "/api/collections/posts",
        token,
        status: 200,
        json: { name: "posts", type: "base", system: false, listRule: null },
        contains: ['"indexes":["CREATE UNIQUE INDEX `idx_posts_title` ON `posts` (`title`)"]'],
      },
      {
        name: "_superusers keeps PocketBase's id and hides token secrets",
        method: "GET",
        url: "/api/collections/pbc_3142635823",
        token,
        status: 200,
        json: { name: "_superusers", type: "auth", system: true, authToken: { duration: 86400 } },
        notContains: ['"secret"'],
      },
      {
        name: "view of a missing collection is a 404",
        method: "GET",
        url: "/api/collections/nope",
        token,
        status: 404,
        json: { status: 404, message: "The requested resource wasn't found.", data: {} },
      },
      {
        name: "scaffolds for every type",
        method: "GET",
        url: "/api/collections/meta/scaffolds",
        token,
        status: 200,
        json: {
          auth: { type: "auth", id: "", name: "" },
          base: { type: "base" },
          view: { type: "view", viewQuery: "" },
        },
      },
      {
        name: "a negative page is page 1",
        method: "GET",
        url: "/api/collections?page=-3",
        token,
        status: 200,
        json: { page: 1 },
      },
      {
        name: "a huge perPage is clamped to 1000",
        method: "GET",
        url: "/api/collections?perPage=100000",
        token,
        status: 200,
        json: { perPage: 1000 },
      },
      {
        name: "a non-numeric page is a 400",
        method: "GET",
        url: "/api/collections?page=abc",
        token,
        status: 400,
      },
      {
        name: "filters by name and type",
        method: "GET",
        url: `/api/collections?filter=${encodeURIComponent("name ~ 'post' && type = 'base'")}`,
        token,
        status: 200,
        json: { totalItems: 1, items: [{ name: "posts" }] },
      },
      {
        name: "filters system collections out and sorts by name descending",
        method: "GET",
        url: `/api/collections?filter=${encodeURIComponent("system = false")}&sort=-name`,
        token,
        status: 200,
        json: { totalItems: 3, items: [{ name: "users" }, { name: "posts" }, { name: "authors" }] },
      },
      {
        name: "a filter on an unknown field is a 400",
        method: "GET",
        url: `/api/collections?filter=${encodeURIComponent("fields ~ 'x'")}`,
        token,
        status: 400,
        json: { status: 400, data: {} },
      },
      {
        name: "a filter that does not parse is a 400 without SQL",
        method: "GET",
        url: `/api/collections?filter=${encodeURIComponent("name = 'x' ) UNION SELECT 1 --")}`,
        token,
        status: 400,
        notContains: ["SQL", "sqlite", "syntax error"],
      },
    ],
  );
});

describe("invalid collection definitions change nothing", () => {
  const bad: { name: string; body: unknown; field: string }[] = [
    { name: "a missing name", body: { type: "base" }, field: "name" },
    { name: "a duplicate name (case-insensitive)", body: { name: "POSTS" }, field: "name" },
    { name: "a name with spaces", body: { name: "my posts" }, field: "name" },
    { name: "an SQL keyword as name", body: { name: "select" }, field: "name" },
    { name: "an internal table name", body: { name: "_collections" }, field: "name" },
    { name: "an unknown type", body: { name: "x1", type: "graph" }, field: "type" },
    {
      name: "an unknown field type",
      body: { name: "x2", fields: [{ name: "a", type: "blob" }] },
      field: "fields",
    },
    {
      name: "duplicate field names",
      body: {
        name: "x3",
        fields: [
          { name: "a", type: "text" },
          { name: "A", type: "text" },
        ],
      },
      field: "fields",
    },
    {
      name: "a reserved field name",
      body: { name: "x4", fields: [{ name: "expand", type: "text" }] },
      field: "fields",
    },
    {
      name: "a relation to a missing collection",
      body: { name: "x5", fields: [{ name: "r", type: "relation", collectionId: "nope" }] },
      field: "fields",
    },
    {
      name: "an unparsable index",
      body: { name: "x6", fields: [{ name: "a", type: "text" }], indexes: ["CREATE INDEX oops"] },
      field: "indexes",
    },
    {
      name: "an index on a missing column",
      body: { name: "x7", indexes: ["CREATE INDEX idx_x7 ON x7 (missing)"] },
      field: "indexes",
    },
    {
      name: "an index name already used",
      body: {
        name: "x8",
        fields: [{ name: "title", type: "text" }],
        indexes: ["CREATE INDEX idx_posts_title ON x8 (title)"],
      },
      field: "indexes",
    },
    {
      name: "a select without values",
      body: { name: "x9", fields: [{ name: "s", type: "select" }] },
      field: "fields",
    },
    {
      name: "a wrongly typed option",
      body: { name: "x10", fields: [{ name: "n", type: "number", min: "five" }] },
      field: "fields",
    },
    { name: "a rule that is not a string", body: { name: "x11", listRule: 5 }, field: "listRule" },
    { name: "a rule that does not parse", body: { name: "x17", listRule: "id = (" }, field: "listRule" },
    {
      name: "a rule naming an unknown field",
      body: { name: "x18", viewRule: "nope = 1" },
      field: "viewRule",
    },
    {
      name: "a rule with an unknown macro",
      body: { name: "x19", listRule: "@request.auth.id != '' && created > @never" },
      field: "listRule",
    },
    {
      name: "an auth rule naming an unknown field",
      body: { name: "x20", type: "auth", authRule: "banned = false" },
      field: "authRule",
    },
    { name: "a view without a query", body: { name: "x12", type: "view" }, field: "viewQuery" },
    {
      name: "a view with a write statement",
      body: { name: "x13", type: "view", viewQuery: "DELETE FROM posts" },
      field: "viewQuery",
    },
    {
      name: "a view with two statements",
      body: { name: "x14", type: "view", viewQuery: "SELECT id FROM posts; DROP TABLE posts" },
      field: "viewQuery",
    },
    {
      name: "an auth collection with a bad token duration",
      body: { name: "x15", type: "auth", authToken: { duration: 1 } },
      field: "authToken",
    },
    {
      name: "an auth field named passwordConfirm",
      body: { name: "x16", type: "auth", fields: [{ name: "passwordConfirm", type: "text" }] },
      field: "fields",
    },
  ];
  for (const b of bad) {
    it(`refuses ${b.name}`, async () => {
      const before = await snapshot();
      const res = await server.fetch("/api/collections", { method: "POST", token: su, json: b.body });
      const body = (await res.json()) as { status: number; message: string; data: Record<string, unknown> };
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(body.status).toBe(400);
      expect(body.data[b.field], JSON.stringify(body)).toBeDefined();
      expect(await snapshot()).toBe(before);
      expect(JSON.stringify(body)).not.toMatch(/SQLITE|sqlite_|stack/i);
    });
  }

  it("refuses an update that would break the schema and keeps table and definition", async () => {
    const before = await snapshot();
    const res = await server.fetch("/api/collections/posts", {
      method: "PATCH",
      token: su,
      json: { fields: [{ name: "title", type: "number" }] },
    });
    expect(res.status).toBe(400);
    expect(await snapshot()).toBe(before);
    const cols = await server.basalt.app.db.tableColumns("posts");
    expect(cols.map((c) => c.name)).toEqual(["id", "title", "author"]);
  });

  it("accepts rules that name the collection's own fields, relations and @request", async () => {
    const res = await server.fetch("/api/collections", {
      method: "POST",
      token: su,
      json: {
        name: "notes",
        fields: [
          { name: "text", type: "text" },
          { name: "owner", type: "relation", collectionId: "_pb_users_auth_", maxSelect: 1 },
        ],
        listRule: "owner = @request.auth.id || owner.name = 'public'",
        viewRule: "@request.auth.id != ''",
        createRule: "@request.body.text:isset = true",
      },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await server.fetch("/api/collections/notes", { method: "DELETE", token: su })).status).toBe(204);
  });

  it("refuses to change a field's type", async () => {
    const posts = server.basalt.app.collections.get("posts");
    const fields = posts.fields.map((f) => (f.name === "title" ? { ...f, type: "bool" } : f));
    const res = await server.fetch("/api/collections/posts", {
      method: "PATCH",
      token: su,
      json: { fields },
    });
    const body = (await res.json()) as { data: { fields: Record<string, { type: { code: string } }> } };
    expect(res.status).toBe(400);
    expect(body.data.fields["1"].type.code).toBe("validation_field_type_change");
  });

  it("refuses to delete a collection another one points to", async () => {
    const res = await server.fetch("/api/collections/authors", { method: "DELETE", token: su });
    expect(res.status).toBe(400);
    expect(await listNames()).toContain("authors");
  });

  it("refuses to delete a system collection", async () => {
    const res = await server.fetch("/api/collections/_superusers", { method: "DELETE", token: su });
    expect(res.status).toBe(400);
  });

  it("refuses to rename a system collection", async () => {
    const res = await server.fetch("/api/collections/_superusers", {
      method: "PATCH",
      token: su,
      json: { name: "admins" },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { data: { name: { code: string } } }).data.name.code).toBe(
      "validation_collection_system_name_change",
    );
  });
});

describe("collection changes sync the table", () => {
  it("renames a collection and a field, adds and drops fields, keeping data", async () => {
    const app = server.basalt.app;
    await app.db.run(`INSERT INTO "authors" ("id", "name") VALUES ('aaaaaaaaaaaaaaa', 'Ann')`);
    let authors = app.collections.get("authors");
    const fields = authors.fields.map((f) => (f.name === "name" ? { ...f, name: "fullName" } : f));
    fields.push({ name: "age", type: "number" } as never);
    let res = await server.fetch("/api/collections/authors", {
      method: "PATCH",
      token: su,
      json: { name: "writers", fields },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const row = await app.db.get<Record<string, unknown>>(`SELECT * FROM "writers"`);
    expect(row).toEqual({ id: "aaaaaaaaaaaaaaa", fullName: "Ann", age: 0 });
    expect(await app.db.tableExists("authors")).toBe(false);
    authors = app.collections.get("writers");
    res = await server.fetch("/api/collections/writers", {
      method: "PATCH",
      token: su,
      json: { fields: authors.fields.filter((f) => f.name !== "age") },
    });
    expect(res.status).toBe(200);
    expect((await app.db.tableColumns("writers")).map((c) => c.name)).toEqual(["id", "fullName"]);
    // the relation in posts still points at the renamed collection by id
    expect(app.collections.get("posts").fields.find((f) => f.name === "author")?.collectionId).toBe(
      authors.id,
    );
  });

  it("a unique index is enforced by the database", async () => {
    const app = server.basalt.app;
    await app.db.run(`INSERT INTO "posts" ("id", "title") VALUES ('p00000000000001', 'Hello')`);
    await expect(
      app.db.run(`INSERT INTO "posts" ("id", "title") VALUES ('p00000000000002', 'Hello')`),
    ).rejects.toThrow(/unique/i);
  });

  it("a view collection infers its fields from the query", async () => {
    const res = await server.fetch("/api/collections", {
      method: "POST",
      token: su,
      json: {
        name: "post_titles",
        type: "view",
        viewQuery: "SELECT id, title, 1 + 1 AS two FROM posts",
        listRule: "",
      },
    });
    const body = (await res.json()) as { fields: { name: string; type: string }[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.fields.map((f) => [f.name, f.type])).toEqual([
      ["id", "text"],
      ["title", "text"],
      ["two", "json"],
    ]);
    const rows = await server.basalt.app.db.all(`SELECT * FROM "post_titles"`);
    expect(rows.length).toBeGreaterThan(0);
  });

  it("truncates a collection, clearing optional references", async () => {
    const app = server.basalt.app;
    await app.db.run(`UPDATE "posts" SET "author" = 'aaaaaaaaaaaaaaa'`);
    const res = await server.fetch("/api/collections/writers/truncate", { method: "DELETE", token: su });
    expect(res.status).toBe(204);
    expect(await app.db.all(`SELECT * FROM "writers"`)).toEqual([]);
    const post = await app.db.get<{ author: string }>(`SELECT "author" FROM "posts"`);
    expect(post?.author).toBe("");
  });

  it("refuses to truncate a view", async () => {
    const res = await server.fetch("/api/collections/post_titles/truncate", { method: "DELETE", token: su });
    expect(res.status).toBe(400);
  });

  it("deletes a collection and its table", async () => {
    const create = await server.fetch("/api/collections", {
      method: "POST",
      token: su,
      json: { name: "temp_things" },
    });
    expect(create.status).toBe(200);
    const res = await server.fetch("/api/collections/temp_things", { method: "DELETE", token: su });
    expect(res.status).toBe(204);
    expect(await server.basalt.app.db.tableExists("temp_things")).toBe(false);
    expect((await server.fetch("/api/collections/temp_things", { token: su })).status).toBe(404);
  });
});

describe("collections import", () => {
  it("refuses an empty list and bad payloads", async () => {
    for (const body of [{}, { collections: [] }, { collections: "x" }, [1, 2], { collections: [5] }]) {
      const res = await server.fetch("/api/collections/import", { method: "PUT", token: su, json: body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });

  it("imports two related collections at once", async () => {
    const res = await server.fetch("/api/collections/import", {
      method: "PUT",
      token: su,
      json: {
        collections: [
          { id: "pbc_tags000001", name: "tags", type: "base", fields: [{ name: "label", type: "text" }] },
          {
            name: "articles",
            type: "base",
            fields: [
              { name: "headline", type: "text" },
              { name: "tags", type: "relation", collectionId: "pbc_tags000001", maxSelect: 5 },
            ],
          },
        ],
      },
    });
    expect(res.status, await res.clone().text()).toBe(204);
    expect(await listNames()).toEqual(expect.arrayContaining(["tags", "articles", "posts"]));
  });

  it("an invalid item fails the whole import and changes nothing", async () => {
    const before = await snapshot();
    const res = await server.fetch("/api/collections/import", {
      method: "PUT",
      token: su,
      json: {
        collections: [
          { name: "newone", type: "base" },
          { name: "bad name!", type: "base" },
        ],
      },
    });
    const body = (await res.json()) as { data: { collections: { code: string } } };
    expect(res.status).toBe(400);
    expect(body.data.collections.code).toBe("validation_collections_import_failure");
    expect(await snapshot()).toBe(before);
  });

  it("deleteMissing removes unlisted non-system collections", async () => {
    const res = await server.fetch("/api/collections/import", {
      method: "PUT",
      token: su,
      json: {
        deleteMissing: true,
        collections: [{ name: "solo", type: "base", fields: [{ name: "x", type: "text" }] }],
      },
    });
    expect(res.status, await res.clone().text()).toBe(204);
    const names = await listNames();
    expect(names).toContain("solo");
    expect(names).not.toContain("posts");
    expect(names).toContain("_superusers");
  });
});
