import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSelect, compileFilter, type RequestInfo } from "../../src/rules/index.js";
import { FILTER_CASES, type FilterCase } from "./filter-cases.js";
import {
  data,
  openPostgresFixture,
  openSqliteFixture,
  schema,
  selectedDialects,
  type TestDb,
} from "./fixture.js";

function requestFor(c: FilterCase, dialect: string): RequestInfo {
  const authId = c.req?.auth;
  const row = authId ? data.users.find((u) => u.id === authId) : undefined;
  // The auth record arrives as stored: SQLite keeps booleans as 0/1.
  const raw = row
    ? Object.fromEntries(
        Object.entries(row).map(([k, v]) => [
          k,
          typeof v === "boolean" && dialect === "sqlite" ? (v ? 1 : 0) : v,
        ]),
      )
    : null;
  return {
    auth: raw ? { ...raw, id: String(raw.id), collectionId: "c_users", collectionName: "users" } : null,
    body: c.req?.body ?? {},
    query: c.req?.query ?? {},
    headers: c.req?.headers ?? {},
    method: c.req?.method ?? "GET",
    context: c.req?.context ?? "default",
  };
}

export async function matchIds(
  db: TestDb,
  c: FilterCase,
  mode: "rule" | "client" = "rule",
  isSuperuser = false,
) {
  const collection = schema.get(c.base ?? "posts")!;
  const filter = compileFilter({
    dialect: db.dialect,
    schema,
    collection,
    alias: "r",
    text: c.filter,
    request: requestFor(c, db.dialect.name),
    mode,
    isSuperuser,
  });
  const q = buildSelect({
    dialect: db.dialect,
    table: collection.name,
    alias: "r",
    columns: '"r"."id"',
    filters: [filter],
  });
  const rows = await db.all(q.sql, q.params);
  return rows.map((r) => String(r.id)).sort();
}

for (const dialectName of selectedDialects()) {
  describe(`filter table on ${dialectName}`, () => {
    let db: TestDb | null = null;
    beforeAll(async () => {
      db = dialectName === "sqlite" ? await openSqliteFixture() : await openPostgresFixture();
      if (!db && process.env.CI === "true") throw new Error("PostgreSQL at 127.0.0.1:5432 is required in CI");
      if (!db) console.warn("PostgreSQL unreachable at 127.0.0.1:5432: skipping the PostgreSQL filter table");
    });
    afterAll(async () => {
      await db?.close();
    });

    it(`has at least 150 cases (${FILTER_CASES.length})`, () => {
      expect(FILTER_CASES.length).toBeGreaterThanOrEqual(150);
    });

    for (const [i, c] of FILTER_CASES.entries()) {
      const label = `#${i} ${c.base ? `[${c.base}] ` : ""}${c.filter.replaceAll("\n", "\\n")}${c.req ? ` ${JSON.stringify(c.req)}` : ""}`;
      it(label, async (ctx) => {
        if (!db) return ctx.skip();
        expect(await matchIds(db, c)).toEqual([...c.ids].sort());
      });
    }
  });
}
