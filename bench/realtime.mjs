// Realtime fan-out bench: N SSE subscribers on one Basalt instance receive the events of a stream of
// writes. Reports fan-out latency p50/p99 (write issued -> event received) and the server's memory, next
// to a bare node:http SSE broadcaster doing the same fan-out in the same run.
// Usage: npm run build && node bench/realtime.mjs [--subscribers 1000] [--rate 100] [--seconds 10]
// Loopback only; bounded by --seconds; stops by itself.
import { fork, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: { subscribers: { type: "string" }, rate: { type: "string" }, seconds: { type: "string" } },
});
const SUBSCRIBERS = Number(args.subscribers ?? 1000);
const RATE = Number(args.rate ?? 100);
const SECONDS = Number(args.seconds ?? 10);
const BIN = fileURLToPath(new URL("../packages/server/bin/basalt.js", import.meta.url));
const agent = new (await import("node:http")).Agent({ keepAlive: true, maxSockets: 64 });

function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

function percentile(sorted, p) {
  return sorted.length
    ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
    : Number.NaN;
}

function httpJson(base, method, path, body, token) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${base}${path}`,
      {
        method,
        agent,
        headers: { "content-type": "application/json", ...(token ? { authorization: token } : {}) },
      },
      (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () =>
          res.statusCode >= 400
            ? reject(new Error(`${res.statusCode} ${text}`))
            : resolve(text ? JSON.parse(text) : null),
        );
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

/**
 * Opens n SSE streams; calls onStamp(t) with the `"t":<ms>` value of every event after PB_CONNECT, found by
 * scanning rather than parsing so that the receiving side costs little next to the server it measures.
 * Resolves with the client ids.
 */
function openStreams(url, n, onStamp) {
  const ids = [];
  const sockets = [];
  let pending = n;
  return new Promise((resolve, reject) => {
    const openOne = () => {
      const req = request(url, { headers: { accept: "text/event-stream" } }, (res) => {
        res.setEncoding("latin1");
        let connected = false;
        let head = "";
        res.on("data", (chunk) => {
          if (!connected) {
            head += chunk;
            const end = head.indexOf("\n\n");
            if (end < 0) return;
            connected = true;
            ids.push(/^id:(.*)$/m.exec(head.slice(0, end))?.[1] ?? "");
            if (--pending === 0) {
              resolve({
                ids,
                close: () => {
                  for (const s of sockets) s.destroy();
                },
              });
            }
            chunk = head.slice(end + 2);
          }
          let at = chunk.indexOf('"t":');
          while (at >= 0) {
            onStamp(Number.parseInt(chunk.slice(at + 4, at + 20), 10));
            at = chunk.indexOf('"t":', at + 4);
          }
        });
      });
      req.on("error", reject);
      req.on("socket", (s) => sockets.push(s));
      req.end();
    };
    for (let i = 0; i < n; i++) openOne();
  });
}

async function drive(writeOne, latencies, expected) {
  const interval = 1000 / RATE;
  const total = RATE * SECONDS;
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    writeOne(i).catch((e) => console.error("write failed:", e.message));
  }
  const deadline = Date.now() + 15_000;
  while (latencies.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

function report(name, latencies, expected, extra = "") {
  const s = [...latencies].sort((a, b) => a - b);
  const p50 = percentile(s, 50);
  const p99 = percentile(s, 99);
  console.log(
    `${name.padEnd(8)} delivered ${latencies.length}/${expected}  p50 ${p50.toFixed(1)} ms  p99 ${p99.toFixed(1)} ms${extra}`,
  );
  return { p50, p99, delivered: latencies.length };
}

/** The bare SSE broadcaster: node:http, no rules, one frame written to every stream per write. */
function serveBare() {
  const clients = new Set();
  const server = createServer((req, res) => {
    if (req.method === "GET") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
      res.write(`id:x\nevent:PB_CONNECT\ndata:{}\n\n`);
      clients.add(res);
      req.on("close", () => clients.delete(res));
      return;
    }
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const record = JSON.parse(body);
      const frame = `id:x\nevent:feed/*\ndata:${JSON.stringify({ action: "create", record })}\n\n`;
      for (const c of clients) c.write(frame);
      res.end("{}");
    });
  });
  server.listen(0, "127.0.0.1", () => process.send?.({ port: server.address().port }));
}

async function benchBare() {
  // in its own process, as Basalt is, so neither competes with the receivers in this one
  const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, BENCH_BARE_CHILD: "1" } });
  const port = await new Promise((resolve) => child.once("message", (m) => resolve(m.port)));
  const server = { close: () => child.kill("SIGTERM") };
  const base = `http://127.0.0.1:${port}`;
  const latencies = [];
  const streams = await openStreams(`${base}/`, SUBSCRIBERS, (t) => latencies.push(Date.now() - t));
  await drive(
    (i) => httpJson(base, "POST", "/", { id: `r${i}`, title: `event ${i}`, t: Date.now() }),
    latencies,
    RATE * SECONDS * SUBSCRIBERS,
  );
  const r = report("bare", latencies, RATE * SECONDS * SUBSCRIBERS);
  streams.close();
  server.close();
  return r;
}

async function benchBasalt() {
  const dir = mkdtempSync(join(tmpdir(), "basalt-bench-rt-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(
    process.execPath,
    [
      BIN,
      "serve",
      "--http",
      `127.0.0.1:${port}`,
      "--dir",
      dir,
      "--log-level",
      "warn",
      // every subscriber connects from 127.0.0.1: lift the per-address caps (Security limits) above them
      "--realtime-max-clients-per-ip",
      String(SUBSCRIBERS + 10),
      "--max-connections-per-ip",
      String(SUBSCRIBERS + 100),
    ],
    {
      env: {
        ...process.env,
        BASALT_SUPERUSER_EMAIL: "bench@example.com",
        BASALT_SUPERUSER_PASSWORD: "bench-password-1",
      },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  await new Promise((resolve) =>
    child.stdout.on("data", (d) => d.toString().includes("Basalt serving") && resolve()),
  );
  const base = `http://127.0.0.1:${port}`;
  try {
    const { token } = await httpJson(base, "POST", "/api/collections/_superusers/auth-with-password", {
      identity: "bench@example.com",
      password: "bench-password-1",
    });
    await httpJson(
      base,
      "POST",
      "/api/collections",
      {
        name: "feed",
        fields: [
          { name: "title", type: "text" },
          { name: "t", type: "number" },
        ],
        listRule: "",
        viewRule: "",
        createRule: "",
      },
      token,
    );
    const idleRss = rssMb(child.pid);
    const latencies = [];
    const streams = await openStreams(`${base}/api/realtime`, SUBSCRIBERS, (t) =>
      latencies.push(Date.now() - t),
    );
    for (let i = 0; i < streams.ids.length; i += 50) {
      await Promise.all(
        streams.ids
          .slice(i, i + 50)
          .map((clientId) =>
            httpJson(base, "POST", "/api/realtime", { clientId, subscriptions: ["feed/*"] }),
          ),
      );
    }
    const connectedRss = rssMb(child.pid);
    let peakRss = connectedRss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(child.pid))), 200);
    await drive(
      (i) => httpJson(base, "POST", "/api/collections/feed/records", { title: `event ${i}`, t: Date.now() }),
      latencies,
      RATE * SECONDS * SUBSCRIBERS,
    );
    clearInterval(sampler);
    const r = report(
      "basalt",
      latencies,
      RATE * SECONDS * SUBSCRIBERS,
      `  server RSS idle ${idleRss.toFixed(0)} MB, ${SUBSCRIBERS} connected ${connectedRss.toFixed(0)} MB, peak ${peakRss.toFixed(0)} MB`,
    );
    streams.close();
    return { ...r, peakRss };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.BENCH_BARE_CHILD) {
  serveBare();
} else {
  await main();
}

async function main() {
  console.log(`realtime fan-out: ${SUBSCRIBERS} subscribers, ${RATE} writes/s for ${SECONDS} s (loopback)`);
  const bare = await benchBare();
  const basalt = await benchBasalt();
  console.log(
    `ratio    p50 ${(basalt.p50 / bare.p50).toFixed(2)}x bare, p99 ${(basalt.p99 / bare.p99).toFixed(2)}x bare; ` +
      `target p99 < 100 ms: ${basalt.p99 < 100 ? "met" : "NOT met"}; memory < 300 MB: ${basalt.peakRss < 300 ? "met" : "NOT met"}`,
  );
  agent.destroy();
}
