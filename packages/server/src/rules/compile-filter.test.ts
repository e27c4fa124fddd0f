import { describe, expect, it } from "vitest";
import { sqliteDialect } from "../db/index.js";
import { postgresDialect } from "../db/postgres/dialect.js";
import { buildSelect } from "./build-select.js";
import { likePattern } from "./compare.js";
import { clearRulesCache, compileFilter, rulesCacheSize } from "./compile-filter.js";
import { EMPTY_REQUEST, type RequestInfo } from "./request.js";
import type { RuleCollection, RuleSchema } from "./schema.js";

const posts: RuleCollection = {
  id: "c_posts",
  name: "posts",
  type: "base",
  fields: [
    { id: "1", name: "id", type: "text" },
    { id: "2", name: "title", type: "text" },
    { id: "3", name: "views", type: "number" },
    { id: "4", name: "tags", type: "select", maxSelect: 3 },
    { id: "5", name: "data", type: "json" },
  ],
};
const schema: RuleSchema = { get: (n) => (n === "posts" || n === "c_posts" ? posts : undefined) };
const compile = (text: string, request: RequestInfo = EMPTY_REQUEST, dialect = sqliteDialect) =>
  compileFilter({
    dialect,
    schema,
    collection: posts,
    alias: "r",
    text,
    request,
    mode: "rule",
    isSuperuser: false,
  });
const withAuth = (id: string): RequestInfo => ({
  ...EMPTY_REQUEST,
  auth: { id, collectionId: "x", collectionName: "x" },
});

describe("compileFilter output", () => {
  it("compiles = with a non-empty value to a direct, index-friendly comparison", () => {
    expect(compile('title = "a"').where).toEqual({ sql: '"r"."title" = ?', params: ["a"] });
    expect(compile('title = "a"', EMPTY_REQUEST, postgresDialect).where).toEqual({
      sql: '"r"."title" = CAST(? AS TEXT)',
      params: ["a"],
    });
  });

  it("folds null and empty text into one test, and != into IS NOT", () => {
    expect(compile("title = null").where.sql).toBe(`("r"."title" = '' OR "r"."title" IS NULL)`);
    expect(compile('title = ""').where.sql).toBe(`("r"."title" = '' OR "r"."title" IS NULL)`);
    expect(compile('title != "a"').where.sql).toBe(`"r"."title" IS NOT ?`);
    expect(compile("views = null").where.sql).toBe(`("r"."views" IS NULL)`);
    expect(compile("data.a = null").where.sql).toBe(`json_extract("r"."data", '$."a"') IS NULL`);
  });

  it("wraps ~ values and escapes wildcards unless the value has its own %", () => {
    expect(compile('title ~ "a_b"').where.params).toEqual(["%a\\_b%"]);
    expect(compile('title ~ "a%"').where.params).toEqual(["a%"]);
    expect(likePattern("100\\%")).toBe("%100\\%%");
    expect(likePattern("a\\b")).toBe("%a\\\\b%");
    expect(likePattern("x\\_y")).toBe("%x\\_y%");
  });

  it("never puts values into SQL text", () => {
    const evil = `'; DROP TABLE posts; --`;
    const f = compile(`title = "${evil}" || title ~ @request.query.q`, {
      ...EMPTY_REQUEST,
      query: { q: evil },
    });
    expect(f.where.sql).not.toContain("DROP");
    expect(f.where.params).toEqual([evil, `%${evil}%`]);
  });

  it("keeps the SQL text stable per shape and binds values per request", () => {
    const a = compile("id = @request.auth.id", withAuth("aaa"));
    const b = compile("id = @request.auth.id", withAuth("bbb"));
    expect(a.where.sql).toBe(b.where.sql);
    expect(a.where.params).toEqual(["aaa"]);
    expect(b.where.params).toEqual(["bbb"]);
    // a guest is another shape (PocketBase compiles a missing value as NULL)
    expect(compile("id = @request.auth.id").where.sql).toBe(`("r"."id" = '' OR "r"."id" IS NULL)`);
  });

  it("caches compiled shapes and can be cleared", () => {
    clearRulesCache();
    compile('title = "x"');
    compile('title = "x"');
    expect(rulesCacheSize()).toBe(1);
    compile('title = "y"');
    expect(rulesCacheSize()).toBe(2);
    clearRulesCache();
    expect(rulesCacheSize()).toBe(0);
    compileFilter({
      dialect: sqliteDialect,
      schema,
      collection: posts,
      alias: "r",
      text: "views > 1",
      request: EMPTY_REQUEST,
      mode: "rule",
      isSuperuser: false,
      schemaVersion: 1,
    });
    compileFilter({
      dialect: sqliteDialect,
      schema,
      collection: posts,
      alias: "r",
      text: "views > 2",
      request: EMPTY_REQUEST,
      mode: "rule",
      isSuperuser: false,
      schemaVersion: 2,
    });
    expect(rulesCacheSize()).toBe(1);
  });

  it("an empty text is no filter", () => {
    expect(compile("")).toEqual({ joins: [], where: { sql: "TRUE", params: [] }, distinct: false });
  });

  it("confines fan-out joins to an id subquery instead of DISTINCT", () => {
    const f = compile('tags:each ?= "a"');
    expect(f.distinct).toBe(true);
    const q = buildSelect({
      dialect: sqliteDialect,
      table: "posts",
      alias: "r",
      columns: '"r".*',
      filters: [f],
      limit: 5,
    });
    expect(q.sql).toMatch(
      /^SELECT "r"\.\* FROM "posts" "r" WHERE "r"\."id" IN \(SELECT "r"\."id" FROM "posts" "r" LEFT JOIN json_each/,
    );
    expect(q.params).toEqual(["a", 5]);
  });

  it("PostgreSQL placeholders are rewritten outside quotes", () => {
    expect(
      postgresDialect.formatPlaceholders(`a = ? AND b = '?' AND "c?" = ? AND d = 'it''s ?' AND e = ?`),
    ).toBe(`a = $1 AND b = '?' AND "c?" = $2 AND d = 'it''s ?' AND e = $3`);
  });
});
