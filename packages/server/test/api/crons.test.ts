import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CRON_QUEUE } from "../../src/jobs/index.js";
import { testStore } from "../harness/dialects.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";
import { waitFor } from "../harness/wait.js";

describe("cron", () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer({ jobsPollMs: 20 });
  });
  afterEach(async () => {
    await server.stop();
  });

  it("lists jobs as PocketBase does and runs one on demand (superusers only)", async () => {
    const runs: Date[] = [];
    server.basalt.app.cron.add("reports", "@daily", (tick) => {
      runs.push(tick);
    });
    server.basalt.app.cron.add("cleanup", "*/10 * * * *", () => {});
    expect(() => server.basalt.app.cron.add("bad", "61 * * * *", () => {})).toThrow();
    const token = await superuserToken(server);

    expect((await server.fetch("/api/crons")).status).toBe(401);
    const list = await server.fetch("/api/crons", { token });
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual([
      { id: "cleanup", expression: "*/10 * * * *" },
      { id: "reports", expression: "@daily" },
    ]);

    expect((await server.fetch("/api/crons/reports", { method: "POST" })).status).toBe(401);
    expect((await server.fetch("/api/crons/missing", { method: "POST", token })).status).toBe(404);
    expect((await server.fetch("/api/crons/reports", { method: "POST", token })).status).toBe(204);
    await waitFor(() => runs.length === 1, "the manual run");
  });

  it("passes the scheduled tick to the handler", async () => {
    const ticks: number[] = [];
    server.basalt.app.cron.add("tick", "@hourly", (tick) => {
      ticks.push(tick.getTime());
    });
    const at = new Date("2026-01-01T05:00:00Z");
    await server.basalt.app.cron.enqueueTick("tick", at);
    await waitFor(() => ticks.length === 1, "the tick");
    expect(ticks).toEqual([at.getTime()]);
  });
});

// Several instances in one process share PostgreSQL well; on SQLite they would block one another's event loop
// on the file lock, so SQLite's several-process case runs in real processes (jobs-processes.test.ts).
describe.runIf(testStore() === "postgres")("cron across instances", () => {
  it("runs each tick once when several instances share the database", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "basalt-cron-"));
    const servers: TestServer[] = [];
    try {
      for (let i = 0; i < 3; i++) servers.push(await startServer({ jobsPollMs: 20 }, { dataDir }));
      const runs: string[] = [];
      servers.forEach((s, i) => {
        s.basalt.app.cron.add("nightly", "0 3 * * *", (tick) => {
          runs.push(`${i}@${tick.toISOString()}`);
        });
      });
      const ticks = [new Date("2026-02-01T03:00:00Z"), new Date("2026-02-02T03:00:00Z")];
      // every instance's timer fires at each tick
      for (const tick of ticks)
        await Promise.all(servers.map((s) => s.basalt.app.cron.enqueueTick("nightly", tick)));
      await waitFor(async () => {
        const page = await servers[0].basalt.app.jobs.list({ queue: CRON_QUEUE, state: "done" });
        return page.totalItems === 2;
      }, "both ticks to run");
      expect(runs).toHaveLength(2);
      expect(runs.map((r) => r.split("@")[1]).sort()).toEqual(ticks.map((t) => t.toISOString()));
      expect((await servers[0].basalt.app.jobs.list({ queue: CRON_QUEUE })).totalItems).toBe(2);
    } finally {
      for (const s of servers) await s.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
