import { createHash, randomBytes } from "node:crypto";
import pg from "pg";

/** The stores a test run can use. */
export type TestStore = "sqlite" | "postgres";

/** The PostgreSQL maintenance database the tests connect to in order to create their throwaway databases. */
export const PG_ADMIN_URL = process.env.BASALT_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** The prefix of every database a test run creates: `basalt_test_<run>_…`, dropped when the run ends. */
export function runPrefix(): string {
  return `basalt_test_${process.env.BASALT_TEST_RUN ?? "local"}_`;
}

/** The store this test process runs the API suite on (the vitest project sets BASALT_TEST_STORE). */
export function testStore(): TestStore {
  return process.env.BASALT_TEST_STORE === "postgres" ? "postgres" : "sqlite";
}

/** True under CI, where a store that cannot be reached fails the run instead of being skipped. */
export function isCi(): boolean {
  const ci = process.env.CI ?? "";
  return ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Why PostgreSQL cannot be used for tests, or null when it answers. */
export async function postgresProblem(): Promise<string | null> {
  try {
    await withAdmin((c) => c.query("SELECT 1"));
    return null;
  } catch (err) {
    return err instanceof Error ? err.message || String(err) : String(err);
  }
}

/** A throwaway PostgreSQL database. */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops the database (closing whatever is still connected). */
  drop(): Promise<void>;
}

function urlOf(name: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Creates an empty database `basalt_test_<run>_<random>`; with a key (e.g. a data folder reused across a
 * restart) the same key names the same database, created on first use.
 */
export async function createTestDatabase(key?: string): Promise<TestDatabase> {
  const suffix = key
    ? `k${createHash("sha256").update(key).digest("hex").slice(0, 12)}`
    : randomBytes(6).toString("hex");
  const name = `${runPrefix()}${suffix}`;
  await withAdmin(async (c) => {
    const exists = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (!exists.rowCount) await c.query(`CREATE DATABASE "${name}" TEMPLATE template0`);
  });
  return { name, url: urlOf(name), drop: () => dropDatabases([name]) };
}

/** Drops databases by name. */
export async function dropDatabases(names: readonly string[]): Promise<void> {
  if (!names.length) return;
  await withAdmin(async (c) => {
    for (const name of names) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
}

/** Drops every database whose name starts with a prefix (what a run left behind). */
export async function dropDatabasesStartingWith(prefix: string): Promise<void> {
  const names = await withAdmin(async (c) => {
    const res = await c.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
      [prefix],
    );
    return res.rows.map((r) => r.datname);
  });
  await dropDatabases(names);
}

/**
 * The stores BASALT_TEST_DIALECTS selects (default both). PostgreSQL that cannot be reached is dropped with
 * a message outside CI and fails the run under CI.
 */
export async function selectStores(): Promise<TestStore[]> {
  const raw = process.env.BASALT_TEST_DIALECTS ?? "sqlite,postgres";
  const wanted = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s): s is TestStore => s === "sqlite" || s === "postgres");
  if (!wanted.includes("postgres")) return wanted;
  const problem = await postgresProblem();
  if (!problem) return wanted;
  if (isCi()) throw new Error(`PostgreSQL tests: cannot reach ${PG_ADMIN_URL} (${problem}) and CI is set.`);
  console.warn(
    `\n  PostgreSQL tests SKIPPED: cannot reach ${PG_ADMIN_URL} (${problem}).\n` +
      "  Start PostgreSQL, set BASALT_TEST_PG_URL, or set BASALT_TEST_DIALECTS=sqlite to silence this.\n",
  );
  return wanted.filter((s) => s !== "postgres");
}
