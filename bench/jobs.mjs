// Job queue bench: jobs per second with no-op handlers (a backlog drained by one process, concurrency 10)
// and enqueue-to-start latency (jobs enqueued one by one, 4 ms apart, into an idle queue), on SQLite and
// PostgreSQL; on PostgreSQL side by side with pg-boss 10 on the same server in the same run. Run
// `npm run build` first, then `node bench/jobs.mjs` (BENCH_JOBS, BENCH_PG_URL; ~1-2 minutes).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import PgBoss from "pg-boss";
import { pino } from "pino";
import { createApp } from "../packages/server/dist/main.js";
import { createBenchDatabase } from "./pg-kit.mjs";

const JOBS = Number(process.env.BENCH_JOBS ?? 2000);
const LATENCY_JOBS = 200;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function waitUntil(check) {
  while (!check()) await sleep(2);
}

async function benchBasalt(label, config) {
  const dataDir = mkdtempSync(join(tmpdir(), "basalt-bench-jobs-"));
  const basalt = await createApp(
    { dataDir, http: "127.0.0.1:0", logLevel: "silent", ...config },
    pino({ level: "silent" }),
  );
  const { jobs } = basalt.app;
  try {
    for (let i = 0; i < JOBS; i++) await jobs.enqueue("drain", { i });
    let done = 0;
    const t0 = performance.now();
    jobs.handle("drain", () => void done++, { concurrency: 10 });
    await waitUntil(() => done === JOBS);
    const drainMs = performance.now() - t0;
    // the last outcomes are written after the handler returns: let them land before the next phase
    await sleep(200);

    const lat = [];
    jobs.handle("latency", ({ payload }) => void lat.push(performance.now() - payload.t), {
      concurrency: 10,
    });
    for (let i = 0; i < LATENCY_JOBS; i++) {
      await jobs.enqueue("latency", { t: performance.now() });
      await sleep(4);
    }
    await waitUntil(() => lat.length === LATENCY_JOBS);
    return { label, perSecond: (JOBS / drainMs) * 1000, p50: pct(lat, 50), p99: pct(lat, 99) };
  } finally {
    await basalt.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function benchPgBoss(url) {
  const boss = new PgBoss({ connectionString: url, max: 10 });
  boss.on("error", () => {});
  await boss.start();
  try {
    await boss.createQueue("drain");
    await boss.createQueue("latency");
    for (let i = 0; i < JOBS; i++) await boss.send("drain", { i });
    let done = 0;
    const t0 = performance.now();
    // batches of ten: the same concurrency as Basalt's handler (a worker polls again only after an empty
    // fetch or its interval, so one-job batches would be capped by the polling interval)
    await boss.work("drain", { batchSize: 10, pollingIntervalSeconds: 0.5 }, async (batch) => {
      await Promise.all(batch.map(async () => void done++));
    });
    await waitUntil(() => done === JOBS);
    const drainMs = performance.now() - t0;
    const lat = [];
    await boss.work("latency", { batchSize: 10, pollingIntervalSeconds: 0.5 }, async (batch) => {
      for (const job of batch) lat.push(performance.now() - job.data.t);
    });
    for (let i = 0; i < LATENCY_JOBS; i++) {
      await boss.send("latency", { t: performance.now() });
      await sleep(4);
    }
    await waitUntil(() => lat.length === LATENCY_JOBS);
    return {
      label: "pg-boss 10 (PostgreSQL, 0.5 s polling)",
      perSecond: (JOBS / drainMs) * 1000,
      p50: pct(lat, 50),
      p99: pct(lat, 99),
    };
  } finally {
    await boss.stop({ graceful: false, wait: true });
  }
}

const rows = [];
rows.push(await benchBasalt("Basalt (SQLite)", {}));
const pgA = await createBenchDatabase();
const pgB = await createBenchDatabase();
try {
  rows.push(await benchBasalt("Basalt (PostgreSQL)", { dbUrl: pgA.url }));
  rows.push(await benchPgBoss(pgB.url));
} finally {
  await pgA.drop();
  await pgB.drop();
}
console.log(
  `\n${JOBS} no-op jobs drained at concurrency 10; ${LATENCY_JOBS} jobs enqueued 4 ms apart for latency\n`,
);
console.log("| queue | jobs/s | enqueue→start p50 | p99 |");
console.log("|---|---|---|---|");
for (const r of rows) {
  console.log(
    `| ${r.label} | ${Math.round(r.perSecond)} | ${r.p50.toFixed(1)} ms | ${r.p99.toFixed(1)} ms |`,
  );
}
const basaltPg = rows.find((r) => r.label === "Basalt (PostgreSQL)");
const boss = rows.find((r) => r.label.startsWith("pg-boss"));
console.log(
  `\nBasalt / pg-boss on PostgreSQL: ${(basaltPg.perSecond / boss.perSecond).toFixed(2)}× the throughput`,
);
