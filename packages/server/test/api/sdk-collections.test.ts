import { ClientResponseError, type CollectionModel } from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SUPERUSER, startServer, superuserSdk, type TestServer } from "../harness/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

/** Every field type with a few of its options, as an app would define them through the SDK. */
const EVERY_FIELD = [
  { name: "title", type: "text", required: true, min: 1, max: 200, pattern: "^[^<>]*$", presentable: true },
  { name: "body", type: "editor", maxSize: 100000, convertURLs: true },
  { name: "views", type: "number", min: 0, max: 1000000, onlyInt: true },
  { name: "published", type: "bool" },
  { name: "contact", type: "email", onlyDomains: ["example.com"] },
  { name: "homepage", type: "url", exceptDomains: ["evil.test"] },
  { name: "publishAt", type: "date", min: "2020-01-01 00:00:00.000Z" },
  { name: "created", type: "autodate", onCreate: true },
  { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
  { name: "status", type: "select", values: ["draft", "live"], maxSelect: 1 },
  { name: "tags", type: "select", values: ["a", "b", "c"], maxSelect: 3 },
  { name: "meta", type: "json", maxSize: 2000 },
  { name: "owner", type: "relation", collectionId: "_pb_users_auth_", maxSelect: 1, cascadeDelete: false },
  {
    name: "cover",
    type: "file",
    maxSelect: 1,
    maxSize: 1048576,
    mimeTypes: ["image/png"],
    thumbs: ["100x100"],
  },
  { name: "secret", type: "password", min: 10, hidden: true },
  { name: "where", type: "geoPoint" },
];

describe("the pocketbase SDK manages collections unchanged", () => {
  it("signs in as a superuser created by the CLI code path and keeps the auth store", async () => {
    const pb = server.sdk();
    const auth = await pb.collection("_superusers").authWithPassword(SUPERUSER.email, SUPERUSER.password);
    expect(auth.record.email).toBe(SUPERUSER.email);
    expect(auth.record.collectionName).toBe("_superusers");
    expect(auth.record).not.toHaveProperty("password");
    expect(auth.record).not.toHaveProperty("tokenKey");
    expect(pb.authStore.isValid).toBe(true);
    expect(pb.authStore.isSuperuser).toBe(true);
    const [, payload] = auth.token.split(".");
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    expect(Object.keys(claims).sort()).toEqual(["collectionId", "exp", "id", "refreshable", "type"]);
    expect(claims).toMatchObject({
      collectionId: "pbc_3142635823",
      type: "auth",
      refreshable: true,
      id: auth.record.id,
    });
    const refreshed = await pb.collection("_superusers").authRefresh();
    expect(refreshed.token).toBeTruthy();
    expect(refreshed.record.id).toBe(auth.record.id);
  });

  it("creates a base collection with every field type, renames a field, adds a unique index, reads it back", async () => {
    const pb = await superuserSdk(server);
    const created = await pb.collections.create({
      name: "articles",
      type: "base",
      fields: EVERY_FIELD,
      listRule: "",
    });
    expect(created.id).toMatch(/^pbc_\d+$/);
    expect(created.fields.map((f: { name: string }) => f.name)).toEqual([
      "id",
      ...EVERY_FIELD.map((f) => f.name),
    ]);
    const tags = created.fields.find((f: { name: string }) => f.name === "tags");
    expect(tags).toMatchObject({
      type: "select",
      values: ["a", "b", "c"],
      maxSelect: 3,
      required: false,
      hidden: false,
    });

    const fields = created.fields.map((f: { name: string }) =>
      f.name === "title" ? { ...f, name: "headline" } : f,
    );
    const renamed = await pb.collections.update("articles", {
      fields,
      indexes: ["CREATE UNIQUE INDEX idx_articles_headline ON articles (headline)"],
    });
    expect(renamed.fields.find((f: { id: string }) => f.id === tags?.id)).toBeTruthy();
    expect(renamed.fields.some((f: { name: string }) => f.name === "headline")).toBe(true);
    expect(renamed.fields.some((f: { name: string }) => f.name === "title")).toBe(false);
    expect(renamed.indexes).toEqual([
      "CREATE UNIQUE INDEX `idx_articles_headline` ON `articles` (`headline`)",
    ]);

    const read = await pb.collections.getOne("articles");
    expect(read).toEqual(renamed);
    const columns = (await server.basalt.app.db.tableColumns("articles")).map((c) => c.name);
    expect(columns).toContain("headline");
    expect(columns).not.toContain("title");
  });

  it("imports two collections at once and lists them", async () => {
    const pb = await superuserSdk(server);
    // The SDK types a full CollectionModel; an app may send partial definitions, as PocketBase allows.
    await pb.collections.import([
      { id: "pbc_books0000001", name: "books", type: "base", fields: [{ name: "name", type: "text" }] },
      {
        name: "reviews",
        type: "base",
        fields: [
          {
            name: "book",
            type: "relation",
            collectionId: "pbc_books0000001",
            maxSelect: 1,
            cascadeDelete: true,
          },
          { name: "stars", type: "number" },
        ],
      },
    ] as unknown as CollectionModel[]);
    const all = await pb.collections.getFullList();
    const names = all.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(["books", "reviews", "articles", "users", "_superusers"]));
    const reviews = await pb.collections.getOne("reviews");
    expect(reviews.fields.find((f: { name: string }) => f.name === "book")).toMatchObject({
      collectionId: "pbc_books0000001",
      cascadeDelete: true,
    });
    const page = await pb.collections.getList(1, 2);
    expect(page).toMatchObject({ page: 1, perPage: 2, totalItems: all.length });
    expect(page.items).toHaveLength(2);
    const scaffolds = await pb.collections.getScaffolds();
    expect(Object.keys(scaffolds).sort()).toEqual(["auth", "base", "view"]);
  });

  it("answers every invalid request with a PocketBase-shaped 400 and changes nothing", async () => {
    const pb = await superuserSdk(server);
    const before = JSON.stringify(await pb.collections.getFullList());
    const attempts: (() => Promise<unknown>)[] = [
      () => pb.collections.create({ name: "articles" }),
      () => pb.collections.create({ name: "bad name" }),
      () =>
        pb.collections.create({
          name: "x_rel",
          fields: [{ name: "r", type: "relation", collectionId: "missing" }],
        }),
      () => pb.collections.update("articles", { indexes: ["CREATE UNIQUE INDEX broken ON articles ("] }),
      () => pb.collections.update("articles", { name: "books" }),
      () => pb.collections.import([{ name: "ok_one" }, { name: "not ok" }] as unknown as CollectionModel[]),
      () => pb.collections.delete("books"),
    ];
    for (const attempt of attempts) {
      const err = await attempt().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ClientResponseError);
      const e = err as ClientResponseError;
      expect(e.status).toBe(400);
      expect(e.response).toMatchObject({ status: 400 });
      expect(typeof e.response.message).toBe("string");
      expect(typeof e.response.data).toBe("object");
    }
    expect(JSON.stringify(await pb.collections.getFullList())).toBe(before);
  });

  it("deletes and truncates through the SDK", async () => {
    const pb = await superuserSdk(server);
    await server.basalt.app.db.run(`INSERT INTO "books" ("id", "name") VALUES ('b00000000000001', 'Dune')`);
    await server.basalt.app.db.run(
      `INSERT INTO "reviews" ("id", "book", "stars") VALUES ('r00000000000001', 'b00000000000001', 5)`,
    );
    expect(await pb.collections.truncate("books")).toBe(true);
    expect(await server.basalt.app.db.all(`SELECT * FROM "reviews"`)).toEqual([]);
    expect(await pb.collections.delete("reviews")).toBe(true);
    expect(await pb.collections.delete("books")).toBe(true);
    await expect(pb.collections.getOne("books")).rejects.toMatchObject({ status: 404 });
  });
});
