// Observability cost bench (issue 15): Basalt's view-one and create throughput with request logs and metrics
// off (the baseline), on together, and on with OpenTelemetry tracing sampling every request (spans exported
// over OTLP/HTTP to a receiver in this process that reads and discards them), in one run on the same data.
// Run `npm run build` first, then `node bench/observability.mjs` (loopback only, about a minute).
// Each server runs in its own child process; autocannon drives it from this process. Each configuration
// is measured twice, alternating, and the better run is kept. Besides requests per second, the server
// process's CPU time per request is measured (process.cpuUsage around the run, the log writer thread
// included): on a shared machine throughput swings with the neighbours' load, CPU per request less so.
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROWS = 10_000;
const DURATION = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const here = fileURLToPath(import.meta.url);

const CONFIGS = {
  off: { label: "logs+metrics off", metrics: false, logs: false, tracing: false },
  on: { label: "logs+metrics on", metrics: true, logs: true, tracing: false },
  traced: { label: "on + tracing 100%", metrics: true, logs: true, tracing: true },
};

function rid() {
  const a = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(randomBytes(15), (b) => a[b % 36]).join("");
}

// ---------------------------------------------------------------- child: Basalt
async function serve(dataDir, name, otlp) {
  const cfg = CONFIGS[name];
  if (cfg?.tracing) {
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = `${otlp}/v1/traces`;
    process.env.OTEL_TRACES_SAMPLER = "always_on";
  }
  const { createApp } = await import("../packages/server/dist/main.js");
  const { pino } = await import("pino");
  const basalt = await createApp(
    {
      dataDir,
      http: "127.0.0.1:0",
      logLevel: "silent",
      metrics: Boolean(cfg?.metrics),
      tracing: cfg?.tracing ? "on" : "off",
    },
    pino({ level: "silent" }),
  );
  const app = basalt.app;
  if (name === "seed") {
    await app.collections.create({
      name: "items",
      type: "base",
      listRule: "public = true",
      viewRule: "public = true",
      createRule: "",
      fields: [
        { name: "title", type: "text", required: true, max: 100 },
        { name: "score", type: "number", min: 0 },
        { name: "public", type: "bool" },
        { name: "created", type: "autodate", onCreate: true },
        { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
      ],
    });
    const now = new Date().toISOString().replace("T", " ");
    await app.db.transaction(async (tx) => {
      for (let i = 0; i < ROWS; i++) {
        await tx.run(
          "INSERT INTO items (id, title, score, public, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
          [rid(), `Item ${i}`, i % 1000, 1, now, now],
        );
      }
    });
    const ids = (await app.db.all("SELECT id FROM items LIMIT 500")).map((r) => r.id);
    await basalt.close();
    process.send({ ids });
    return;
  }
  await app.settings.update({ logs: { maxDays: cfg.logs ? 5 : 0 } });
  const url = await basalt.listen();
  process.once("SIGINT", () => basalt.close().then(() => process.exit(0)));
  process.on("message", async (m) => {
    if (m === "cpu") {
      const u = process.cpuUsage();
      process.send({ cpu: u.user + u.system });
      return;
    }
    if (m !== "stats") return;
    await app.logs.flush();
    await app.tracing?.flush();
    const logged = await app.logs.store.list({ filter: "", sort: "", page: 1, perPage: 1, skipTotal: false });
    process.send({ logged: logged.totalItems, written: app.logs.written, dropped: app.logs.dropped });
  });
  process.send({ url });
}

// ---------------------------------------------------------------- parent
async function load(url, kase, ids, duration) {
  const { default: autocannon } = await import("autocannon");
  const opts = { url, connections: CONNECTIONS, duration, pipelining: 1 };
  opts.requests =
    kase === "view"
      ? [
          {
            setupRequest: (r) => ({
              ...r,
              path: `/api/collections/items/records/${ids[Math.floor(Math.random() * ids.length)]}`,
            }),
          },
        ]
      : [
          {
            method: "POST",
            path: "/api/collections/items/records",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ title: "Bench item", score: 42, public: true }),
          },
        ];
  const r = await autocannon(opts);
  if (r.non2xx || r.errors) throw new Error(`${kase} on ${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rps: r.requests.average, total: r.requests.total, p50: r.latency.p50, p99: r.latency.p99 };
}

/** The hot-path pieces alone, in this process: one request-log entry (buffered, then written) and one metrics record. */
async function pieces(dataDir) {
  const { createApp } = await import("../packages/server/dist/main.js");
  const { pino } = await import("pino");
  const basalt = await createApp(
    { dataDir: join(dataDir, "pieces"), http: "127.0.0.1:0", metrics: true, tracing: "off" },
    pino({ level: "silent" }),
  );
  const { logs, metrics } = basalt.app;
  const entry = {
    method: "GET",
    url: "/api/collections/items/records/abcdefghijklmno",
    status: 200,
    execTime: 0.3,
    referer: "",
    userAgent: "autocannon",
    auth: "",
    authId: "",
    userIP: "127.0.0.1",
    remoteIP: "127.0.0.1",
  };
  const N = 50_000;
  const cpu = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  const out = { logUs: Infinity, metricUs: Infinity };
  for (let round = 0; round < 3; round++) {
    let t = cpu();
    for (let i = 0; i < N; i++) {
      logs.request(entry);
      if (logs.buffered >= 5000) await logs.flush();
    }
    await logs.flush();
    out.logUs = Math.min(out.logUs, (cpu() - t) / N);
    t = cpu();
    for (let i = 0; i < N; i++) {
      metrics.requestStarted();
      metrics.requestFinished("GET", "/api/collections/:collection/records/:id", 200, 0.0003);
    }
    out.metricUs = Math.min(out.metricUs, (cpu() - t) / N);
  }
  await basalt.close();
  return out;
}

function ask(proc, what) {
  return new Promise((resolve) => {
    proc.once("message", resolve);
    proc.send(what);
  });
}

async function measure(proc, url, kase, ids) {
  await load(url, kase, ids, 1);
  const before = (await ask(proc, "cpu")).cpu;
  const r = await load(url, kase, ids, DURATION);
  const after = (await ask(proc, "cpu")).cpu;
  return { ...r, cpuUs: (after - before) / r.total };
}

function child(args) {
  const proc = fork(here, args, { stdio: "inherit" });
  return new Promise((resolve, reject) => {
    proc.once("message", (msg) => resolve({ proc, msg }));
    proc.once("error", reject);
    proc.once("exit", (code) => code && reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "basalt-obs-bench-"));
  let spans = 0;
  const receiver = http.createServer((req, res) => {
    let bytes = 0;
    req.on("data", (c) => {
      bytes += c.length;
    });
    req.on("end", () => {
      if (bytes) spans++;
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  const otlp = `http://127.0.0.1:${receiver.address().port}`;
  try {
    const { ids } = (await child(["seed", dataDir, otlp])).msg;
    const cost = await pieces(dataDir);
    const best = {};
    const notes = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of Object.keys(CONFIGS)) {
        const s = await child([name, dataDir, otlp]);
        for (const kase of ["view", "create"]) {
          const r = await measure(s.proc, s.msg.url, kase, ids);
          best[kase] ??= {};
          const prev = best[kase][name];
          best[kase][name] = prev
            ? { ...(r.rps > prev.rps ? r : prev), cpuUs: Math.min(prev.cpuUs, r.cpuUs) }
            : r;
        }
        notes[name] = await ask(s.proc, "stats");
        s.proc.kill("SIGINT");
        await new Promise((r) => s.proc.once("exit", r));
      }
    }
    const pad = (s, n) => String(s).padEnd(n);
    console.log(
      `\nobservability bench: ${ROWS} rows on SQLite, ${CONNECTIONS} connections, ${DURATION}s per case, best of ${ROUNDS}, node ${process.version}`,
    );
    console.log(
      `${pad("case", 8)}${pad("config", 22)}${pad("req/s", 8)}${pad("p50/p99 ms", 12)}${pad("CPU µs/req", 12)}${pad("req/s ratio", 13)}CPU ratio`,
    );
    for (const [kase, byName] of Object.entries(best)) {
      for (const [name, r] of Object.entries(byName)) {
        const ratio = r.rps / byName.off.rps;
        const cpuRatio = byName.off.cpuUs / r.cpuUs;
        const flag = name === "on" && ratio < 0.9 ? "  (below the 0.90 target)" : "";
        console.log(
          `${pad(kase, 8)}${pad(CONFIGS[name].label, 22)}${pad(Math.round(r.rps), 8)}${pad(`${r.p50}/${r.p99}`, 12)}${pad(r.cpuUs.toFixed(0), 12)}${pad(ratio.toFixed(2), 13)}${cpuRatio.toFixed(2)}${flag}`,
        );
      }
    }
    console.log(
      `in-process CPU per request: a request-log entry (buffered, then written to auxiliary.db by the writer thread) ${cost.logUs.toFixed(1)} µs, a metrics record ${cost.metricUs.toFixed(2)} µs`,
    );
    console.log(
      `last round: ${notes.on.written} entries written with logs on (${notes.on.dropped} dropped), ${notes.off.written} with logs off; ${spans} OTLP exports received`,
    );
  } finally {
    receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const [role, dataDir, otlp] = process.argv.slice(2);
if (role) await serve(dataDir, role, otlp);
else await main();
