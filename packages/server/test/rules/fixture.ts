import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { type Dialect, openSqlite, type SqlValue, sqliteDialect } from "../../src/db/index.js";
import { postgresDialect } from "../../src/db/postgres/dialect.js";
import type { RuleCollection, RuleField, RuleSchema } from "../../src/rules/index.js";

// Test fixtures for the filter compiler: collections with relations, back-relations, multi-valued fields,
// JSON, geo points, hidden fields, empties, unicode and dates, loaded into SQLite and PostgreSQL.

const f = (name: string, type: string, extra: Partial<RuleField> = {}): RuleField => ({
  id: `f_${name}`,
  name,
  type,
  hidden: false,
  system: false,
  ...extra,
});

const idField = f("id", "text", { system: true });

export const orgs: RuleCollection = {
  id: "c_orgs",
  name: "orgs",
  type: "base",
  fields: [idField, f("name", "text"), f("public", "bool")],
  listRule: "public = true",
  viewRule: "public = true",
  createRule: null,
  updateRule: null,
  deleteRule: null,
};

export const users: RuleCollection = {
  id: "c_users",
  name: "users",
  type: "auth",
  fields: [
    idField,
    f("email", "email", { system: true }),
    f("emailVisibility", "bool", { system: true }),
    f("verified", "bool", { system: true }),
    f("password", "password", { system: true, hidden: true }),
    f("tokenKey", "text", { system: true, hidden: true }),
    f("name", "text"),
    f("role", "select", { maxSelect: 1 }),
    f("org", "relation", { collectionId: "c_orgs", maxSelect: 1 }),
  ],
  listRule: "",
  viewRule: "",
  createRule: "",
  updateRule: null,
  deleteRule: null,
};

export const secrets: RuleCollection = {
  id: "c_secrets",
  name: "secrets",
  type: "base",
  fields: [idField, f("code", "text")],
  listRule: null,
  viewRule: null,
  createRule: null,
  updateRule: null,
  deleteRule: null,
};

export const posts: RuleCollection = {
  id: "c_posts",
  name: "posts",
  type: "base",
  fields: [
    idField,
    f("title", "text"),
    f("views", "number"),
    f("published", "bool"),
    f("tags", "select", { maxSelect: 5 }),
    f("category", "select", { maxSelect: 1 }),
    f("author", "relation", { collectionId: "c_users", maxSelect: 1 }),
    f("editors", "relation", { collectionId: "c_users", maxSelect: 10 }),
    f("data", "json"),
    f("created", "date"),
    f("location", "geoPoint"),
    f("secret", "text", { hidden: true }),
    f("vault", "relation", { collectionId: "c_secrets", maxSelect: 1 }),
    f("attachments", "file", { maxSelect: 3 }),
  ],
  listRule: "",
  viewRule: "",
  createRule: "",
  updateRule: "",
  deleteRule: null,
};

export const comments: RuleCollection = {
  id: "c_comments",
  name: "comments",
  type: "base",
  fields: [
    idField,
    f("post", "relation", { collectionId: "c_posts", maxSelect: 1 }),
    f("text", "text"),
    f("likes", "number"),
    f("author", "relation", { collectionId: "c_users", maxSelect: 1 }),
  ],
  listRule: "",
  viewRule: "",
  createRule: "",
  updateRule: null,
  deleteRule: null,
};

export const collections = [orgs, users, secrets, posts, comments];

/** The fixture schema lookup (by name or id). */
export const schema: RuleSchema = {
  get: (nameOrId) => collections.find((c) => c.id === nameOrId || c.name === nameOrId),
};

/** One fixture record. */
export type Row = Record<string, unknown>;

export const data: Record<string, Row[]> = {
  orgs: [
    { id: "o1", name: "Acme", public: true },
    { id: "o2", name: "Hidden Corp", public: false },
  ],
  users: [
    {
      id: "u1",
      email: "a@x.io",
      emailVisibility: true,
      verified: true,
      password: "hash1",
      tokenKey: "k1",
      name: "Alice",
      role: "admin",
      org: "o1",
    },
    {
      id: "u2",
      email: "b@x.io",
      emailVisibility: false,
      verified: false,
      password: "hash2",
      tokenKey: "k2",
      name: "Bob",
      role: "user",
      org: "o2",
    },
    {
      id: "u3",
      email: "c@x.io",
      emailVisibility: true,
      verified: true,
      password: "hash3",
      tokenKey: "k3",
      name: "Zoë",
      role: "",
      org: "",
    },
  ],
  secrets: [
    { id: "s1", code: "alpha" },
    { id: "s2", code: "beta" },
  ],
  posts: [
    {
      id: "p1",
      title: "Hello World",
      views: 10,
      published: true,
      tags: ["a", "b"],
      category: "news",
      author: "u1",
      editors: ["u1", "u2"],
      data: { a: 1, b: { c: true } },
      created: "2024-01-15 10:00:00.000Z",
      location: { lon: 0, lat: 0 },
      secret: "s-one",
      vault: "s1",
      attachments: ["f1.png"],
    },
    {
      id: "p2",
      title: "hello world",
      views: 0,
      published: false,
      tags: ["a"],
      category: "news",
      author: "u2",
      editors: ["u2"],
      data: { a: "x" },
      created: "2024-02-01 00:00:00.000Z",
      location: { lon: 10, lat: 10 },
      secret: "",
      vault: "s2",
      attachments: [],
    },
    {
      id: "p3",
      title: "50% off",
      views: 3.5,
      published: true,
      tags: [],
      category: "",
      author: "",
      editors: [],
      data: null,
      created: "",
      location: { lon: 0, lat: 1 },
      secret: "",
      vault: "",
      attachments: [],
    },
    {
      id: "p4",
      title: "under_score",
      views: -5,
      published: false,
      tags: ["b", "c"],
      category: "blog",
      author: "u3",
      editors: ["u3", "u1"],
      data: [1, 2],
      created: "2023-12-31 23:59:59.999Z",
      location: { lon: 0, lat: 0 },
      secret: "",
      vault: "",
      attachments: [],
    },
    {
      id: "p5",
      title: "Ünïcode ☃ 日本語",
      views: 100,
      published: true,
      tags: ["c"],
      category: "blog",
      author: "u1",
      editors: ["u1"],
      data: "str",
      created: "2024-03-10 12:30:00.000Z",
      location: { lon: 0, lat: 0 },
      secret: "",
      vault: "",
      attachments: [],
    },
    {
      id: "p6",
      title: "",
      views: 0,
      published: false,
      tags: ["a", "b", "c"],
      category: "news",
      author: "u2",
      editors: ["u2", "u3"],
      data: { a: 2 },
      created: "2024-01-15 10:00:00.000Z",
      location: { lon: 0, lat: 0 },
      secret: "",
      vault: "",
      attachments: [],
    },
    {
      id: "p7",
      title: 'it\'s "quoted"',
      views: 7,
      published: true,
      tags: ["b"],
      category: "other",
      author: "u3",
      editors: [],
      data: { a: null },
      created: "2025-06-01 08:00:00.000Z",
      location: { lon: 0, lat: 0 },
      secret: "",
      vault: "",
      attachments: [],
    },
    {
      id: "p8",
      title: "back\\slash",
      views: 42,
      published: true,
      tags: ["a"],
      category: "news",
      author: "u1",
      editors: ["u1", "u2", "u3"],
      data: 5,
      created: "2024-02-29 00:00:00.000Z",
      location: { lon: 0, lat: 0 },
      secret: "",
      vault: "",
      attachments: [],
    },
  ],
  comments: [
    { id: "c1", post: "p1", text: "first!", likes: 5, author: "u2" },
    { id: "c2", post: "p1", text: "second", likes: 0, author: "u3" },
    { id: "c3", post: "p2", text: "nice", likes: 2, author: "u1" },
    { id: "c4", post: "p5", text: "日本", likes: 10, author: "u1" },
    { id: "c5", post: "p5", text: "wow", likes: 1, author: "u2" },
  ],
};

type Kind = "id" | "text" | "number" | "bool" | "json" | "jsonArray" | "geoPoint";

function kindOf(field: RuleField): Kind {
  if (field.name === "id") return "id";
  if (field.type === "number") return "number";
  if (field.type === "bool") return "bool";
  if (field.type === "json") return "json";
  if (field.type === "geoPoint") return "geoPoint";
  if ((field.maxSelect ?? 1) > 1) return "jsonArray";
  return "text";
}

/** A database the table tests can run compiled SQL on. */
export interface TestDb {
  readonly dialect: Dialect;
  all(sql: string, params: readonly SqlValue[]): Promise<Row[]>;
  close(): Promise<void>;
}

function ddl(dialect: Dialect): string[] {
  return collections.map((c) => {
    const cols = c.fields.map(
      (fl) => `${dialect.quoteIdent(fl.name)} ${dialect.columnDefinition(kindOf(fl))}`,
    );
    return `CREATE TABLE ${dialect.quoteIdent(c.name)} (${cols.join(", ")})`;
  });
}

function rowValues(c: RuleCollection, row: Row, boolAsInt: boolean): SqlValue[] {
  return c.fields.map((fl) => {
    const v = row[fl.name];
    const kind = kindOf(fl);
    if (kind === "json") return v === null || v === undefined ? null : JSON.stringify(v);
    if (kind === "jsonArray") return JSON.stringify(v ?? []);
    if (kind === "geoPoint") return JSON.stringify(v ?? { lon: 0, lat: 0 });
    if (kind === "bool") return boolAsInt ? (v ? 1 : 0) : Boolean(v);
    if (kind === "number") return Number(v ?? 0);
    return (v ?? "") as string;
  });
}

/** Opens a temporary SQLite file loaded with the fixture. */
export async function openSqliteFixture(rows: Record<string, Row[]> = data): Promise<TestDb> {
  const dir = mkdtempSync(join(tmpdir(), "basalt-rules-"));
  const db = openSqlite(join(dir, "data.db"));
  for (const stmt of ddl(sqliteDialect)) await db.exec(stmt);
  for (const c of collections) {
    const placeholders = c.fields.map(() => "?").join(", ");
    for (const row of rows[c.name]) {
      await db.run(
        `INSERT INTO ${sqliteDialect.quoteIdent(c.name)} VALUES (${placeholders})`,
        rowValues(c, row, true),
      );
    }
  }
  return {
    dialect: sqliteDialect,
    all: (sql, params) => db.all(sql, params),
    async close() {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Where the PostgreSQL tests connect (a throwaway database is created per run). */
export const PG_URL = process.env.BASALT_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** Creates a throwaway PostgreSQL database loaded with the fixture; null when the server is unreachable. */
export async function openPostgresFixture(rows: Record<string, Row[]> = data): Promise<TestDb | null> {
  const admin = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch {
    return null;
  }
  const dbName = `basalt_rules_${Math.random().toString(36).slice(2, 10)}`;
  await admin.query(`CREATE DATABASE ${dbName}`);
  const url = new URL(PG_URL);
  url.pathname = `/${dbName}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  for (const stmt of ddl(postgresDialect)) await client.query(stmt);
  for (const c of collections) {
    const placeholders = c.fields.map((_, i) => `$${i + 1}`).join(", ");
    for (const row of rows[c.name]) {
      await client.query(
        `INSERT INTO "${c.name}" VALUES (${placeholders})`,
        rowValues(c, row, false) as unknown[],
      );
    }
  }
  return {
    dialect: postgresDialect,
    async all(sql, params) {
      const res = await client.query(postgresDialect.formatPlaceholders(sql), params as unknown[]);
      return res.rows;
    },
    async close() {
      await client.end();
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** Opens the fixture on each dialect selected by BASALT_TEST_DIALECTS (default both). */
export function selectedDialects(): ("sqlite" | "postgres")[] {
  const raw = process.env.BASALT_TEST_DIALECTS ?? "sqlite,postgres";
  return raw.split(",").map((s) => s.trim()) as ("sqlite" | "postgres")[];
}

/**
 * The fixture with everything a guest must not be able to read changed: hidden fields, records behind a
 * failing or locked list rule, and e-mails whose owners hid them. Guest filters must select the same ids.
 */
export function hiddenVariant(): Record<string, Row[]> {
  const copy = structuredClone(data);
  for (const p of copy.posts) p.secret = `${String(p.secret)}-changed`;
  copy.posts[2].secret = "s-one";
  for (const u of copy.users) {
    u.password = "other";
    u.tokenKey = "other";
  }
  copy.users[1].email = "zz@q.io";
  copy.orgs[1].name = "Acme";
  copy.secrets[0].code = "beta";
  copy.secrets[1].code = "alpha";
  return copy;
}
