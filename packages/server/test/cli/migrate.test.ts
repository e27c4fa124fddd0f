import { spawn } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createTestDatabase, isCi, postgresProblem, type TestDatabase } from "../harness/dialects.js";
import { BIN, freePort, runCli, type Served, serve } from "./cli-helpers.js";

// Issue 18, item 2: `basalt migrate create/up/down/history-sync/collections` and the start's migrations, on
// both stores, through the built CLI.
const wantsPostgres = (process.env.BASALT_TEST_DIALECTS ?? "sqlite,postgres").includes("postgres");
const pgProblem = wantsPostgres ? await postgresProblem() : "not selected by BASALT_TEST_DIALECTS";
if (pgProblem && wantsPostgres) {
  if (isCi()) throw new Error(`migrate tests: PostgreSQL unreachable under CI (${pgProblem})`);
  console.warn(`migrate tests on PostgreSQL SKIPPED: ${pgProblem}`);
}
// each step spawns the CLI (a second or more on a busy machine)
vi.setConfig({ testTimeout: 120_000 });

const stores = ["sqlite", ...(pgProblem ? [] : ["postgres"])] as const;

let cwd: string;
const dbs: TestDatabase[] = [];
beforeAll(() => {
  cwd = mkdtempSync(join(tmpdir(), "basalt-migrate-"));
});
afterAll(async () => {
  for (const db of dbs) await db.drop();
  rmSync(cwd, { recursive: true, force: true });
});

/** A data folder (and PostgreSQL database) to migrate, with a way to read its tables directly. */
async function target(store: string, name: string) {
  const dir = join(cwd, `${store}-${name}`, "basalt_data");
  const migrations = join(cwd, `${store}-${name}`, "basalt_migrations");
  mkdirSync(migrations, { recursive: true });
  let url = "";
  if (store === "postgres") {
    const db = await createTestDatabase();
    dbs.push(db);
    url = db.url;
  }
  const args = url ? ["--db", url, "--dir", dir] : ["--dir", dir];
  const rows = async (sql: string): Promise<Record<string, unknown>[]> => {
    if (!url) {
      const db = new Database(join(dir, "data.db"), { readonly: true });
      try {
        return db.prepare(sql).all() as Record<string, unknown>[];
      } finally {
        db.close();
      }
    }
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  };
  const names = async () =>
    (await rows("SELECT name FROM _collections ORDER BY name")).map((r) => r.name as string);
  const history = async () =>
    (await rows("SELECT file FROM _migrations ORDER BY file")).map((r) => r.file as string);
  return { dir, migrations, args, rows, names, history };
}

/** `basalt serve` as the helper starts it, with more time: two starts at once on a busy machine are slow. */
async function serveSlowly(args: string[]): Promise<Served> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [BIN, "serve", "--http", `127.0.0.1:${port}`, "--log-level", "warn", ...args],
    {
      cwd,
    },
  );
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const deadline = Date.now() + 90_000;
  while (!out.includes("Basalt serving") && child.exitCode === null && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!out.includes("Basalt serving")) {
    child.kill("SIGKILL");
    throw new Error(`serve did not start: ${out}`);
  }
  return { child, url: `http://127.0.0.1:${port}`, output: () => out, exited };
}

const files = (dir: string) => readdirSync(dir).filter((f) => !f.startsWith("."));

describe.each(stores)("basalt migrate on %s", (store) => {
  let t: Awaited<ReturnType<typeof target>>;
  beforeAll(async () => {
    t = await target(store, "cli");
  });

  it("create writes timestamped templates (TypeScript, --js for JavaScript) that apply as they are", () => {
    const ts = runCli(["migrate", "create", "Add posts", ...t.args], cwd);
    expect(ts.code, ts.stderr).toBe(0);
    const js = runCli(["migrate", "create", "seed", "--js", ...t.args], cwd);
    expect(js.code, js.stderr).toBe(0);
    const written = files(t.migrations);
    expect(written).toHaveLength(2);
    expect(written[0]).toMatch(/^\d{13}_add_posts\.ts$/);
    expect(written[1]).toMatch(/^\d{13}_seed\.js$/);
    expect(ts.stdout).toContain(`Created ${join(`${store}-cli`, "basalt_migrations", written[0])}`);
    expect(readFileSync(join(t.migrations, written[0]), "utf8")).toContain("async up(app: MigrationApp)");

    const bad = runCli(["migrate", "create", "!!!", ...t.args], cwd);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("BASALT_ERR_MIGRATION_NAME");
    expect(files(t.migrations)).toHaveLength(2);

    const up = runCli(["migrate", "up", ...t.args], cwd);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain("Done: 2 migrations applied.");
  });

  it("up applies in name order, one transaction each; a failing file rolls back entirely and stops the run", async () => {
    writeFileSync(
      join(t.migrations, "5000000000001_posts.ts"),
      `import type { MigrationApp } from "basalt";
export default {
  async up(app: MigrationApp) {
    await app.collections.create({ name: "posts", type: "base", fields: [{ name: "title", type: "text" }] });
    await app.records.create("posts", { title: app.db.dialect });
    const row = await app.db.get<{ n: number }>("SELECT count(*) AS n FROM posts WHERE title = ?", [app.db.dialect]);
    if (Number(row?.n) !== 1) throw new Error("the record is not visible inside the migration");
  },
  async down(app: MigrationApp) {
    await app.collections.delete("posts");
  },
};
`,
    );
    writeFileSync(
      join(t.migrations, "5000000000002_broken.js"),
      `export default {
  async up(app) {
    await app.collections.create({ name: "tags", fields: [{ name: "label", type: "text" }] });
    await app.records.create("posts", { title: "from the broken one" });
    await app.db.exec("CREATE TABLE scratch (a TEXT)");
    throw new Error("boom on purpose");
  },
  async down() {},
};
`,
    );
    writeFileSync(
      join(t.migrations, "5000000000003_later.js"),
      `export async function up(app) {
  await app.collections.create({ name: "later", fields: [{ name: "note", type: "text" }] });
}
export async function down(app) {
  await app.collections.delete("later");
}
`,
    );
    const r = runCli(["migrate", "up", ...t.args], cwd);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("Applied 5000000000001_posts.ts");
    expect(r.stderr).toContain("5000000000002_broken.js: boom on purpose");
    expect(r.stderr).toContain("BASALT_ERR_MIGRATION_FAILED");
    const names = await t.names();
    expect(names).toContain("posts");
    expect(names).not.toContain("tags");
    expect(names).not.toContain("later");
    expect(await t.rows("SELECT title FROM posts")).toEqual([{ title: store }]);
    await expect(t.rows("SELECT * FROM tags")).rejects.toThrow();
    await expect(t.rows("SELECT * FROM scratch")).rejects.toThrow();
    const history = await t.history();
    expect(history).toHaveLength(3);
    expect(history.at(-1)).toBe("5000000000001_posts.ts");

    unlinkSync(join(t.migrations, "5000000000002_broken.js"));
    const again = runCli(["migrate", "up", ...t.args], cwd);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("Applied 5000000000003_later.js");
    expect(again.stdout).toContain("Done: 1 migration applied.");
    expect(await t.names()).toContain("later");
    const none = runCli(["migrate", "up", ...t.args], cwd);
    expect(none.stdout).toContain("No pending migrations");
  });

  it("collections writes a snapshot recorded as applied; down reverts the last N; history-sync forgets gone files", async () => {
    const snap = runCli(["migrate", "collections", ...t.args], cwd);
    expect(snap.code, snap.stderr).toBe(0);
    const file = files(t.migrations).find((f) => f.endsWith("_collections_snapshot.js"))!;
    expect(file).toBeTruthy();
    const source = readFileSync(join(t.migrations, file), "utf8");
    expect(source).toContain('"name": "posts"');
    expect(source).toContain('"name": "later"');
    expect(await t.history()).toContain(file);

    const down2 = runCli(["migrate", "down", "2", ...t.args], cwd);
    expect(down2.code, down2.stderr).toBe(0);
    expect(down2.stdout).toContain(`Reverted ${file}`);
    expect(down2.stdout).toContain("Reverted 5000000000003_later.js");
    expect(down2.stdout).toContain("Done: 2 migrations reverted.");
    expect(await t.names()).not.toContain("later");
    expect(await t.names()).toContain("posts");
    const down1 = runCli(["migrate", "down", ...t.args], cwd);
    expect(down1.code, down1.stderr).toBe(0);
    expect(await t.names()).not.toContain("posts");
    expect(await t.history()).not.toContain("5000000000001_posts.ts");

    // the last applied file is gone: down refuses, history-sync forgets it
    const seed = files(t.migrations).find((f) => f.endsWith("_seed.js"))!;
    unlinkSync(join(t.migrations, seed));
    unlinkSync(join(t.migrations, file));
    const refused = runCli(["migrate", "down", ...t.args], cwd);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("BASALT_ERR_MIGRATION_MISSING_FILE");
    expect(await t.history()).toContain(seed);
    const sync = runCli(["migrate", "history-sync", ...t.args], cwd);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stdout).toContain(`Forgot ${seed}`);
    expect(await t.history()).toEqual([files(t.migrations).find((f) => f.endsWith("_add_posts.ts"))]);
    // the pending files come back with the next up
    const up = runCli(["migrate", "up", ...t.args], cwd);
    expect(up.stdout).toContain("Done: 2 migrations applied.");
    expect(await t.names()).toEqual(expect.arrayContaining(["posts", "later"]));
  });

  // SQLite's concurrent start needs two processes (PostgreSQL's is tested in-process in test/migrations/)
  it.runIf(store === "sqlite")(
    "two servers starting together on one data folder apply each migration once",
    async () => {
      const t2 = await target(store, "together");
      writeFileSync(
        join(t2.migrations, "6000000000001_runs.js"),
        `export async function up(app) {
  await app.collections.create({ name: "runs", fields: [{ name: "step", type: "number" }] });
}
`,
      );
      for (const step of [2, 3]) {
        writeFileSync(
          join(t2.migrations, `600000000000${step}_step.js`),
          `export async function up(app) {
  await app.records.create("runs", { step: ${step} });
  await new Promise((r) => setTimeout(r, 300));
}
`,
        );
      }
      const started: Served[] = [];
      try {
        const both = await Promise.allSettled([serveSlowly(t2.args), serveSlowly(t2.args)]);
        for (const s of both) if (s.status === "fulfilled") started.push(s.value);
        expect(both.map((s) => (s.status === "rejected" ? String(s.reason) : s.status))).toEqual([
          "fulfilled",
          "fulfilled",
        ]);
        expect(await t2.rows("SELECT step FROM runs ORDER BY step")).toEqual([{ step: 2 }, { step: 3 }]);
        expect(await t2.history()).toEqual([
          "6000000000001_runs.js",
          "6000000000002_step.js",
          "6000000000003_step.js",
        ]);
        const applied = started.map((s) => /Applied (\d+) migration/.exec(s.output())?.[1] ?? "0");
        expect(applied.map(Number).reduce((a, b) => a + b)).toBe(3);
      } finally {
        for (const s of started) {
          s.child.kill("SIGTERM");
          await s.exited;
        }
      }
    },
  );

  // the flags once; the start's migrations on both stores are tested in-process (test/migrations/)
  it.runIf(store === "sqlite")(
    "a failing migration refuses the start with its code; --no-migrate starts without it",
    async () => {
      const t3 = await target(store, "refuse");
      writeFileSync(
        join(t3.migrations, "7000000000001_bad.js"),
        `export async function up(app) {
  await app.collections.create({ name: "half", fields: [] });
  await app.collections.update("users", { fields: "not a list" });
}
`,
      );
      await expect(serve(t3.args, cwd)).rejects.toThrow(/BASALT_ERR_MIGRATION_FAILED/);
      const s = await serve([...t3.args, "--no-migrate"], cwd);
      try {
        expect(await t3.names()).not.toContain("half");
      } finally {
        s.child.kill("SIGTERM");
        await s.exited;
      }
    },
  );
});
