import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, isCi, postgresProblem, type TestStore } from "../harness/dialects.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

// Issue 18, item 2: the pending migrations run at start, before the server listens; two instances starting
// together on one PostgreSQL database (its advisory lock) apply each file once.
const wantsPostgres = (process.env.BASALT_TEST_DIALECTS ?? "sqlite,postgres").includes("postgres");
const pgProblem = wantsPostgres ? await postgresProblem() : "not selected by BASALT_TEST_DIALECTS";
if (pgProblem && wantsPostgres) {
  if (isCi()) throw new Error(`migrations start tests: PostgreSQL unreachable under CI (${pgProblem})`);
  console.warn(`migrations start tests on PostgreSQL SKIPPED: ${pgProblem}`);
}
const stores: TestStore[] = ["sqlite", ...(pgProblem ? [] : (["postgres"] as const))];

describe.each(stores)("migrations at start on %s", (store) => {
  let root: string;
  const servers: TestServer[] = [];
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "basalt-migrations-start-"));
  });
  afterAll(async () => {
    // the first stop drops a shared PostgreSQL database; stop the others before it
    for (const s of servers.reverse()) await s.stop().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  // Two SQLite connections in one process would wait on each other with the event loop blocked, so SQLite's
  // concurrent start runs as two processes in test/cli/migrate.test.ts.
  it.runIf(store === "postgres")(
    "two instances starting together on one database apply each migration once",
    async () => {
      const folder = join(root, "together");
      const dataDir = join(root, "data");
      mkdirSync(folder);
      // the servers share the database their data folder names; create it before they race to
      await createTestDatabase(dataDir);
      writeFileSync(
        join(folder, "6000000000001_runs.ts"),
        `export async function up(app: any) {
  await app.collections.create({ name: "runs", listRule: "", fields: [{ name: "step", type: "number" }] });
}
`,
      );
      for (const step of [2, 3]) {
        writeFileSync(
          join(folder, `600000000000${step}_step.js`),
          `export async function up(app) {
  await app.records.create("runs", { step: ${step} });
  // a slow step widens the window in which the other instance could run it too
  if (app.db.dialect === "postgres") await app.db.get("SELECT pg_sleep(0.3)");
  else await new Promise((r) => setTimeout(r, 300));
}
`,
        );
      }
      const started = await Promise.allSettled([
        startServer({ migrationsDir: folder }, { store, dataDir }),
        startServer({ migrationsDir: folder }, { store, dataDir }),
      ]);
      for (const s of started) if (s.status === "fulfilled") servers.push(s.value);
      expect(started.map((s) => (s.status === "rejected" ? String(s.reason) : s.status))).toEqual([
        "fulfilled",
        "fulfilled",
      ]);
      const applied = servers.flatMap((s) => s.basalt.migrations.applied).sort();
      expect(applied).toEqual(["6000000000001_runs.ts", "6000000000002_step.js", "6000000000003_step.js"]);
      for (const s of servers) {
        const pb = await superuserSdk(s);
        const runs = await pb.collection("runs").getFullList({ sort: "step" });
        expect(runs.map((r) => r.step)).toEqual([2, 3]);
        // each instance knows the collection, whichever of them created it
        expect((await pb.collections.getOne("runs")).name).toBe("runs");
        const history = await s.basalt.migrations.migrator.history();
        expect(history.map((m) => m.file)).toEqual(applied);
      }
    },
  );

  it("a migration that fails refuses the start and leaves nothing of itself behind", async () => {
    const folder = join(root, "failing");
    mkdirSync(folder);
    writeFileSync(
      join(folder, "7000000000001_ok.js"),
      `export async function up(app) {
  await app.collections.create({ name: "kept", fields: [{ name: "n", type: "number" }] });
}
`,
    );
    writeFileSync(
      join(folder, "7000000000002_bad.js"),
      `export async function up(app) {
  await app.collections.create({ name: "half", fields: [] });
  await app.records.create("kept", { n: 1 });
  await app.db.exec("CREATE TABLE scratch (a TEXT)");
  await app.collections.update("kept", { fields: "not a list" });
}
`,
    );
    const dataDir = join(root, "failing-data");
    await expect(startServer({ migrationsDir: folder }, { store, dataDir })).rejects.toMatchObject({
      code: "BASALT_ERR_MIGRATION_FAILED",
      message: expect.stringContaining("7000000000002_bad.js: Failed to update collection."),
    });
    const s = await startServer({ migrationsDir: folder, migrate: false }, { store, dataDir });
    servers.push(s);
    const pb = await superuserSdk(s);
    const names = (await pb.collections.getFullList()).map((c) => c.name);
    expect(names).toContain("kept");
    expect(names).not.toContain("half");
    expect(await pb.collection("kept").getFullList()).toEqual([]);
    expect((await s.basalt.migrations.migrator.history()).map((m) => m.file)).toEqual([
      "7000000000001_ok.js",
    ]);
    expect(await s.basalt.migrations.migrator.pending()).toEqual(["7000000000002_bad.js"]);
    await expect(s.basalt.app.db.all("SELECT * FROM scratch")).rejects.toThrow();
  });
});
