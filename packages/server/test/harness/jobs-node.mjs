// One Basalt process for the job crash tests: it serves on BASALT_TEST_PORT, runs the "crash" queue and the
// "nightly" cron, and appends what its handlers do to BASALT_TEST_LOG (one short line per append, which
// O_APPEND keeps whole across processes). Routes under /api/test/ let the test enqueue and fire ticks.
import { appendFileSync } from "node:fs";
import { pino } from "pino";
import { createApp } from "../../dist/main.js";

const log = process.env.BASALT_TEST_LOG;
const note = (line) => appendFileSync(log, `${line} ${process.pid} ${Date.now()}\n`);
const basalt = await createApp(
  {
    dataDir: process.env.BASALT_TEST_DIR,
    dbUrl: process.env.BASALT_TEST_DB ?? "",
    dbMaxConnections: 4,
    http: `127.0.0.1:${process.env.BASALT_TEST_PORT}`,
    jobsPollMs: 25,
    jobsLeaseMs: Number(process.env.BASALT_TEST_LEASE_MS ?? 1500),
    shutdownTimeoutMs: 3000,
  },
  pino({ level: "warn" }),
);
const { app, server } = basalt;
app.jobs.handle(
  "crash",
  async ({ id, payload }) => {
    note(`start ${id}`);
    await new Promise((r) => setTimeout(r, payload.ms));
    note(`end ${id}`);
  },
  { concurrency: 3, backoff: { baseMs: 20, maxMs: 200 } },
);
app.cron.add("nightly", "0 3 * * *", (tick) => note(`cron ${tick.getTime()}`));
server.post("/api/test/enqueue", async (request) => {
  const ids = [];
  for (const ms of request.body.durations) ids.push((await app.jobs.enqueue("crash", { ms })).id);
  return { ids };
});
server.post("/api/test/tick", async (request) => {
  await app.cron.enqueueTick("nightly", new Date(request.body.tick));
  return {};
});
server.get("/api/test/jobs", async () => {
  const page = await app.jobs.list({ queue: "crash" }, 1, 1000);
  return page.items.map((j) => ({ id: j.id, state: j.state, attempts: j.attempts }));
});
await basalt.listen();
process.on("SIGTERM", () => {
  basalt.close().then(() => process.exit(0));
});
process.stdout.write("ready\n");
