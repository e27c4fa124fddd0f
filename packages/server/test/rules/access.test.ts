import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../../src/errors/index.js";
import {
  buildCount,
  buildSelect,
  compileFilter,
  compileSort,
  EMPTY_REQUEST,
  FilterError,
  type RequestInfo,
  validateRule,
} from "../../src/rules/index.js";
import {
  openPostgresFixture,
  openSqliteFixture,
  posts,
  schema,
  selectedDialects,
  type TestDb,
} from "./fixture.js";

const guest: RequestInfo = EMPTY_REQUEST;

async function ids(db: TestDb, text: string, opts: { su?: boolean; sort?: string; rule?: string } = {}) {
  const base = { dialect: db.dialect, schema, collection: posts, alias: "r", request: guest };
  const filters = [compileFilter({ ...base, text, mode: "client", isSuperuser: opts.su ?? false })];
  if (opts.rule)
    filters.unshift(compileFilter({ ...base, text: opts.rule, mode: "rule", isSuperuser: false }));
  const sort = opts.sort
    ? compileSort({ ...base, text: opts.sort, isSuperuser: opts.su ?? false })
    : undefined;
  const q = buildSelect({
    dialect: db.dialect,
    table: "posts",
    alias: "r",
    columns: '"r"."id"',
    filters,
    sort,
  });
  const rows = await db.all(q.sql, q.params);
  return rows.map((r) => String(r.id));
}

function status(fn: () => unknown): number | null {
  try {
    fn();
    return null;
  } catch (err) {
    return err instanceof ApiError ? err.status : -1;
  }
}

for (const dialectName of selectedDialects()) {
  describe(`client filters and sort on ${dialectName}`, () => {
    let db: TestDb | null = null;
    beforeAll(async () => {
      db = dialectName === "sqlite" ? await openSqliteFixture() : await openPostgresFixture();
      if (!db && process.env.CI === "true") throw new Error("PostgreSQL at 127.0.0.1:5432 is required in CI");
    });
    afterAll(async () => {
      await db?.close();
    });
    const run = (name: string, fn: (db: TestDb) => Promise<void>) =>
      it(name, async (ctx) => {
        if (!db) return ctx.skip();
        await fn(db);
      });
    const compile = (db: TestDb, text: string, su = false) =>
      compileFilter({
        dialect: db.dialect,
        schema,
        collection: posts,
        alias: "r",
        text,
        request: guest,
        mode: "client",
        isSuperuser: su,
      });

    run("a relation hop applies the related collection's list rule", async (db) => {
      expect((await ids(db, 'author.org.name = "Acme"')).sort()).toEqual(["p1", "p5", "p8"]);
      // o2 is not public: its name cannot be matched, so it cannot be probed
      expect(await ids(db, 'author.org.name = "Hidden Corp"')).toEqual([]);
      expect(await ids(db, 'author.org.name ~ "Hidden"')).toEqual([]);
      expect((await ids(db, 'author.org.name != "Acme"')).sort()).toEqual(["p2", "p3", "p4", "p6", "p7"]);
      expect((await ids(db, 'author.org.name != "Zzz"')).sort()).toEqual([
        "p1",
        "p2",
        "p3",
        "p4",
        "p5",
        "p6",
        "p7",
        "p8",
      ]);
      expect((await ids(db, 'editors.org.name ?~ "Corp"')).sort()).toEqual([]);
      // a superuser sees through
      expect((await ids(db, 'author.org.name = "Hidden Corp"', { su: true })).sort()).toEqual(["p2", "p6"]);
    });

    run("a hop into a collection with a locked list rule is refused (400) for non-superusers", async (db) => {
      expect(status(() => compile(db, 'vault.code = "alpha"'))).toBe(400);
      expect(await ids(db, 'vault.code = "alpha"', { su: true })).toEqual(["p1"]);
    });

    run("hidden fields cannot be filtered by non-superusers", async (db) => {
      expect(status(() => compile(db, 'secret = "s-one"'))).toBe(400);
      expect(status(() => compile(db, 'author.password = "hash1"'))).toBe(400);
      expect(status(() => compile(db, 'author.tokenKey ~ "k"'))).toBe(400);
      expect(status(() => compile(db, '(title = "x" || secret ~ "s")'))).toBe(400);
      expect(await ids(db, 'secret = "s-one"', { su: true })).toEqual(["p1"]);
    });

    run("auth e-mails match only where emailVisibility is on", async (db) => {
      expect((await ids(db, 'author.email = "a@x.io"')).sort()).toEqual(["p1", "p5", "p8"]);
      expect(await ids(db, 'author.email = "b@x.io"')).toEqual([]);
      expect(await ids(db, 'author.email ~ "b@"')).toEqual([]);
      expect((await ids(db, 'author.email = "b@x.io"', { su: true })).sort()).toEqual(["p2", "p6"]);
    });

    run("@request and @collection in client texts are superuser-only (403)", async (db) => {
      expect(status(() => compile(db, '@request.auth.id != ""'))).toBe(403);
      expect(status(() => compile(db, "@collection.users.id ?= author"))).toBe(403);
      expect(status(() => compile(db, 'title = "@request.x"'))).toBe(403);
      expect(status(() => compile(db, '@request.auth.id = ""', true))).toBe(null);
    });

    run("rule and client filters combine (AND) without alias clashes", async (db) => {
      const got = await ids(db, 'editors.name ?= "Bob"', {
        rule: 'author.name != "Bob" && editors.name ?= "Alice"',
      });
      expect(got.sort()).toEqual(["p1", "p8"]);
    });

    run("sorts by fields, directions, relation paths and @rowid", async (db) => {
      expect(await ids(db, "", { sort: "-views,id" })).toEqual([
        "p5",
        "p8",
        "p1",
        "p7",
        "p3",
        "p2",
        "p6",
        "p4",
      ]);
      expect(await ids(db, "", { sort: "views,id" })).toEqual([
        "p4",
        "p2",
        "p6",
        "p3",
        "p7",
        "p1",
        "p8",
        "p5",
      ]);
      expect(await ids(db, "", { sort: "-created,id" })).toEqual([
        "p7",
        "p5",
        "p8",
        "p2",
        "p1",
        "p6",
        "p4",
        "p3",
      ]);
      expect(await ids(db, "", { sort: "title" })).toEqual(["p6", "p3", "p1", "p8", "p2", "p7", "p4", "p5"]);
      expect(await ids(db, "", { sort: "author.name,-views" })).toEqual([
        "p3",
        "p5",
        "p8",
        "p1",
        "p2",
        "p6",
        "p7",
        "p4",
      ]);
      expect(await ids(db, "", { sort: "@rowid" })).toEqual(["p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"]);
      expect(await ids(db, "", { sort: "-@rowid" })).toEqual([
        "p8",
        "p7",
        "p6",
        "p5",
        "p4",
        "p3",
        "p2",
        "p1",
      ]);
      expect((await ids(db, "", { sort: "@random" })).length).toBe(8);
      expect(await ids(db, 'tags:each ?= "a"', { sort: "-views,+id" })).toEqual(["p8", "p1", "p2", "p6"]);
      expect(await ids(db, "views > 0", { sort: "data.a,id" })).toEqual(["p3", "p5", "p7", "p8", "p1"]);
    });

    run("sort keeps hidden data unreadable and rejects what PocketBase rejects", async (db) => {
      const sort = (text: string, su = false) =>
        compileSort({
          dialect: db.dialect,
          schema,
          collection: posts,
          alias: "r",
          text,
          request: guest,
          isSuperuser: su,
        });
      expect(status(() => sort("secret"))).toBe(400);
      expect(status(() => sort("secret", true))).toBe(null);
      expect(status(() => sort("editors.name"))).toBe(400);
      expect(status(() => sort("comments_via_post.text"))).toBe(400);
      expect(status(() => sort("tags:each"))).toBe(400);
      expect(status(() => sort("a,b,c,d,e,f,g,h,i"))).toBe(400);
      expect(status(() => sort("views,"))).toBe(400);
      expect(status(() => sort("vault.code"))).toBe(400);
      expect(status(() => sort("@request.auth.id"))).toBe(403);
      expect(status(() => sort("@now", true))).toBe(400);
      expect(status(() => sort("nope"))).toBe(400);
      // hidden org names sort as NULL: the order leaks nothing about them
      expect(await ids(db, 'author.org.name != ""', { sort: "author.org.name" })).toEqual(["p1", "p5", "p8"]);
      expect(await ids(db, "", { sort: "author.email,id" })).toEqual([
        "p2",
        "p3",
        "p6",
        "p1",
        "p5",
        "p8",
        "p4",
        "p7",
      ]);
    });

    run("buildCount counts distinct records", async (db) => {
      const f = compile(db, 'editors.name ?~ "o"');
      const q = buildCount({ dialect: db.dialect, table: "posts", alias: "r", filters: [f] });
      const rows = await db.all(q.sql, q.params);
      expect(Number(rows[0].count)).toBe(5);
    });

    run("limit and offset are bound parameters", async (db) => {
      const sort = compileSort({
        dialect: db.dialect,
        schema,
        collection: posts,
        alias: "r",
        text: "id",
        request: guest,
        isSuperuser: false,
      });
      const q = buildSelect({
        dialect: db.dialect,
        table: "posts",
        alias: "r",
        columns: '"r"."id"',
        filters: [],
        sort,
        limit: 2,
        offset: 3,
      });
      expect((await db.all(q.sql, q.params)).map((r) => r.id)).toEqual(["p4", "p5"]);
      const q2 = buildSelect({
        dialect: db.dialect,
        table: "posts",
        alias: "r",
        columns: '"r"."id"',
        filters: [],
        sort,
        offset: 6,
      });
      expect((await db.all(q2.sql, q2.params)).map((r) => r.id)).toEqual(["p7", "p8"]);
    });
  });
}

describe("validateRule", () => {
  it("accepts valid rules, including hidden fields and @request/@collection", () => {
    for (const text of [
      "",
      null,
      '@request.auth.id != ""',
      'secret = "x" && author.password != ""',
      "@collection.users.id ?= author",
      "@request.body.title:changed = false && @request.body.tags:length < 3",
      "comments_via_post.likes ?> 1",
      "created > @now",
    ]) {
      expect(() => validateRule({ schema, collection: posts, text })).not.toThrow();
    }
  });

  it("rejects unknown fields, bad macros, bad syntax with the reason under the rule's key", () => {
    for (const text of [
      "nope = 1",
      "@nope = 1",
      "title = ",
      "author.nope = 1",
      "title:unknown = 1",
      "views:each = 1",
      "@collection.nope.id = 1",
    ]) {
      try {
        validateRule({ schema, collection: posts, text, ruleName: "listRule" });
        expect.unreachable(text);
      } catch (err) {
        expect(err).toBeInstanceOf(FilterError);
        const e = err as FilterError;
        expect(e.status).toBe(400);
        expect(e.data.listRule).toMatchObject({ code: "validation_invalid_rule" });
      }
    }
  });
});
