// Realtime fan-out bench (issue 19): N raw SSE subscribers on one Basalt instance receive the events of a
// paced stream of writes. Each write carries its sequence number `n` and its send time `t`; every subscriber
// checks that it got each expected event exactly once (lost and duplicate counts) and records the delivery
// latency (receive time - send time). Reports p50/p95/p99/max, the server's CPU and peak RSS (from /proc),
// the load generator's own event-loop lag and CPU, the machine's load average, and pass/fail against the
// target (p99 < 100 ms, peak RSS < 200 MB) for each round, next to a bare node:http SSE broadcaster doing
// the same fan-out in the same run.
//
// The subscribers are spread over --procs child processes (raw sockets, no HTTP client library) so that the
// receiving side is not the bottleneck; its lag is printed so the figures can be judged.
//
// Usage: npm run build && node bench/realtime.mjs [--subscribers 1000] [--rate 100] [--seconds 20]
//          [--rounds 3] [--procs 2] [--store sqlite|postgres] [--mix] [--no-bare]
// --mix: the collection's list/view rule reads @request.auth (every event runs rule checks); 10% of the
// subscribers are signed in as 20 different users, 10% subscribe to one record id (updated by every 10th
// write) instead of `*`, 10% ask for `fields`. --profile DIR: the server writes a V8 CPU profile there. Loopback only; each round is bounded by --seconds + 15 s.
import { fork, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HERE = fileURLToPath(import.meta.url);
// BENCH_RT_BIN: another build's bin/basalt.js, to compare two versions on the same machine and load
const BIN =
  process.env.BENCH_RT_BIN ?? fileURLToPath(new URL("../packages/server/bin/basalt.js", import.meta.url));
/** Latency histogram: 20 µs buckets up to 5 s, exact values above. */
const BUCKET_MS = 0.02;
const BUCKETS = 250_000;
const TARGET_P99_MS = 100;
const TARGET_RSS_MB = 200;
const HOT_EVERY = 10;

const now = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------- receiver child

/**
 * One receiver process: opens its share of SSE streams on raw sockets, subscribes them, and counts what
 * arrives. Messages from the parent: {open}, {start}, {stats}.
 */
function receiver() {
  // the parent is gone (interrupted): nothing left to report to
  process.on("disconnect", () => process.exit(0));
  const clients = [];
  const hist = new Uint32Array(BUCKETS);
  const overflow = [];
  let max = 0;
  let lag;
  let cpu0;
  let writes = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });

  function openStream(port, spec) {
    return new Promise((resolve, reject) => {
      const c = { spec, id: "", seen: null, dup: 0, unexpected: 0, socket: null };
      const socket = connect(port, "127.0.0.1");
      c.socket = socket;
      socket.setNoDelay(true);
      socket.setEncoding("latin1");
      let buf = "";
      let head = true;
      socket.on("error", (e) => (c.id ? console.error("receiver socket:", e.message) : reject(e)));
      socket.write(
        `GET /api/realtime HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`,
      );
      socket.on("data", (chunk) => {
        const at = now();
        buf += chunk;
        if (head) {
          const end = buf.indexOf("\r\n\r\n");
          if (end < 0) return;
          if (!buf.startsWith("HTTP/1.1 200")) {
            reject(new Error(`stream refused: ${buf.slice(0, buf.indexOf("\r\n"))}`));
            socket.destroy();
            return;
          }
          head = false;
          buf = buf.slice(end + 4);
        }
        // Events end with a blank line; the chunked framing between them never holds one.
        let from = 0;
        let end = buf.indexOf("\n\n", from);
        while (end >= 0) {
          const ev = buf.slice(from, end);
          from = end + 2;
          end = buf.indexOf("\n\n", from);
          if (!c.id) {
            const m = /id:([^\n]*)\nevent:PB_CONNECT/.exec(ev);
            if (m) {
              c.id = m[1];
              resolve(c);
            }
            continue;
          }
          const ni = ev.indexOf('"n":');
          const ti = ev.indexOf('"t":');
          if (ni < 0 || ti < 0) {
            c.unexpected++;
            continue;
          }
          const n = Number.parseInt(ev.slice(ni + 4, ni + 16), 10);
          const t = Number.parseFloat(ev.slice(ti + 4, ti + 30));
          if (!c.seen || n < 0 || n >= c.seen.length) {
            c.unexpected++;
            continue;
          }
          if (c.seen[n]) c.dup++;
          c.seen[n] = 1;
          const ms = at - t;
          if (ms > max) max = ms;
          const b = Math.floor(ms / BUCKET_MS);
          if (b < BUCKETS) hist[Math.max(b, 0)]++;
          else overflow.push(ms);
        }
        buf = buf.slice(from);
      });
    });
  }

  function subscribe(port, c) {
    return new Promise((resolve, reject) => {
      const body = JSON.stringify({ clientId: c.id, subscriptions: [c.spec.topic] });
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path: "/api/realtime",
          method: "POST",
          agent,
          headers: {
            "content-type": "application/json",
            ...(c.spec.token ? { authorization: c.spec.token } : {}),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () =>
            res.statusCode === 204 ? resolve() : reject(new Error(`subscribe: ${res.statusCode}`)),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  process.on("message", async (msg) => {
    try {
      if (msg.cmd === "open") {
        writes = msg.writes;
        for (let i = 0; i < msg.specs.length; i += 50) {
          const batch = await Promise.all(msg.specs.slice(i, i + 50).map((s) => openStream(msg.port, s)));
          await Promise.all(batch.map((c) => subscribe(msg.port, c)));
          clients.push(...batch);
        }
        for (const c of clients) c.seen = new Uint8Array(writes);
        process.send({ ready: clients.length });
      } else if (msg.cmd === "start") {
        lag = monitorEventLoopDelay({ resolution: 5 });
        lag.enable();
        cpu0 = process.cpuUsage();
      } else if (msg.cmd === "stats") {
        lag.disable();
        const cpu = process.cpuUsage(cpu0);
        const failed = new Set(msg.failed);
        let received = 0;
        let lost = 0;
        let dup = 0;
        let unexpected = 0;
        let expected = 0;
        for (const c of clients) {
          dup += c.dup;
          unexpected += c.unexpected;
          for (let n = 0; n < writes; n++) {
            const wanted = !failed.has(n) && (c.spec.hotOnly ? n % HOT_EVERY === 0 : true);
            if (c.seen[n]) {
              received++;
              if (!wanted) unexpected++;
            } else if (wanted) lost++;
            if (wanted) expected++;
          }
          c.socket.destroy();
        }
        process.send({
          received,
          expected,
          lost,
          dup,
          unexpected,
          hist: Array.from(hist),
          overflow,
          max,
          lagP99: lag.percentile(99) / 1e6,
          lagMax: lag.max / 1e6,
          cpuMs: (cpu.user + cpu.system) / 1000,
        });
        agent.destroy();
      }
    } catch (err) {
      process.send({ error: err.message });
    }
  });
}

// ---------------------------------------------------------------- bare broadcaster child

/**
 * The bare SSE broadcaster: node:http, no rules, no storage; speaks just enough of the realtime API for the
 * receivers, and writes one frame to every stream per created record.
 */
function serveBare() {
  const clients = new Set();
  let seq = 0;
  const server = createServer((req, res) => {
    if (req.method === "GET") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
      req.socket.setNoDelay(true);
      res.write(`id:c${seq}\nevent:PB_CONNECT\ndata:{"clientId":"c${seq++}"}\n\n`);
      clients.add(res);
      req.on("close", () => clients.delete(res));
      return;
    }
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      if (req.url === "/api/realtime") {
        res.writeHead(204).end();
        return;
      }
      const record = { id: `r${seq++}`, ...JSON.parse(body) };
      const json = JSON.stringify(record);
      const frame = `event:feed/*\ndata:${JSON.stringify({ action: "create", record })}\n\n`;
      for (const c of clients) c.write(frame);
      res.end(json);
    });
  });
  server.listen(0, "127.0.0.1", () => process.send?.({ port: server.address().port }));
}

// ---------------------------------------------------------------- parent

function parse() {
  const { values } = parseArgs({
    options: {
      subscribers: { type: "string", default: "1000" },
      rate: { type: "string", default: "100" },
      seconds: { type: "string", default: "20" },
      rounds: { type: "string", default: "3" },
      procs: { type: "string", default: "2" },
      store: { type: "string", default: "sqlite" },
      mix: { type: "boolean", default: false },
      "no-bare": { type: "boolean", default: false },
      profile: { type: "string" },
    },
  });
  return {
    subscribers: Number(values.subscribers),
    rate: Number(values.rate),
    seconds: Number(values.seconds),
    rounds: Number(values.rounds),
    procs: Math.max(1, Number(values.procs)),
    store: values.store,
    mix: values.mix,
    bare: !values["no-bare"],
    profile: values.profile,
  };
}

function procStatus(pid, field) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)[1]) / 1024;
}

/** CPU time of a process so far (ms), from /proc/<pid>/stat (utime + stime, in clock ticks of 10 ms). */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

function httpJson(agent, base, method, path, body, token) {
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
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () =>
          res.statusCode >= 400
            ? reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`))
            : resolve(text ? JSON.parse(text) : null),
        );
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

function percentileOf(hist, overflow, total, p) {
  if (!total) return Number.NaN;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let b = 0; b < hist.length; b++) {
    seen += hist[b];
    if (seen >= rank) return (b + 1) * BUCKET_MS;
  }
  const sorted = [...overflow].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, rank - seen - 1)];
}

/** Starts the receiver children, opens and subscribes the streams; returns a handle to run one round. */
async function startReceivers(cfg, port, specs, writes) {
  const kids = [];
  for (let i = 0; i < cfg.procs; i++) {
    kids.push(fork(HERE, [], { env: { ...process.env, BENCH_RT_ROLE: "receiver" } }));
  }
  const ask = (kid, msg) =>
    new Promise((resolve, reject) => {
      kid.once("message", (m) => (m.error ? reject(new Error(m.error)) : resolve(m)));
      kid.send(msg);
    });
  const shares = kids.map((_, i) => specs.filter((_, j) => j % kids.length === i));
  await Promise.all(kids.map((k, i) => ask(k, { cmd: "open", port, specs: shares[i], writes })));
  return {
    start: () => {
      for (const k of kids) k.send({ cmd: "start" });
    },
    stats: async (failed) => {
      const all = await Promise.all(kids.map((k) => ask(k, { cmd: "stats", failed })));
      for (const k of kids) k.kill();
      const hist = new Uint32Array(BUCKETS);
      const sum = { received: 0, expected: 0, lost: 0, dup: 0, unexpected: 0, cpuMs: 0 };
      let overflow = [];
      let max = 0;
      let lagP99 = 0;
      let lagMax = 0;
      for (const s of all) {
        for (let b = 0; b < BUCKETS; b++) hist[b] += s.hist[b];
        overflow = overflow.concat(s.overflow);
        for (const k of Object.keys(sum)) sum[k] += s[k];
        max = Math.max(max, s.max);
        lagP99 = Math.max(lagP99, s.lagP99);
        lagMax = Math.max(lagMax, s.lagMax);
      }
      return {
        ...sum,
        p50: percentileOf(hist, overflow, sum.received, 50),
        p95: percentileOf(hist, overflow, sum.received, 95),
        p99: percentileOf(hist, overflow, sum.received, 99),
        max,
        lagP99,
        lagMax,
      };
    },
  };
}

/** Paces `total` writes at `rate` per second, open loop (a slow answer does not delay the next write). */
async function drive(cfg, writeOne) {
  const total = cfg.rate * cfg.seconds;
  const failed = [];
  const inflight = new Set();
  const start = performance.now();
  for (let n = 0; n < total; n++) {
    const wait = start + (n * 1000) / cfg.rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const p = writeOne(n)
      .catch((e) => {
        if (p.timedOut) return;
        failed.push(n);
        if (failed.length <= 3) console.error(`  write ${n} failed: ${e.message}`);
      })
      .finally(() => inflight.delete(p));
    p.n = n;
    inflight.add(p);
  }
  // bounded: a write still unanswered 15 s after the last was issued counts as failed
  const timeout = new Promise((r) => setTimeout(r, 15_000).unref());
  await Promise.race([Promise.all(inflight), timeout]);
  for (const p of inflight) p.timedOut = true;
  return [...failed, ...[...inflight].map((p) => p.n)];
}

/** Waits until the receivers have had time to get the last events (bounded). */
const settle = (ms) => new Promise((r) => setTimeout(r, ms));

/** Which topic (and auth) each subscriber uses. */
function subscriberSpecs(cfg, hotId, tokens) {
  const specs = [];
  for (let i = 0; i < cfg.subscribers; i++) {
    if (!cfg.mix) {
      specs.push({ topic: "feed/*" });
      continue;
    }
    const slot = i % 10;
    if (slot === 0) specs.push({ topic: "feed/*", token: tokens[i % tokens.length] });
    else if (slot === 1) specs.push({ topic: `feed/${hotId}`, hotOnly: true });
    else if (slot === 2) {
      const options = encodeURIComponent(JSON.stringify({ query: { fields: "id,n,t" } }));
      specs.push({ topic: `feed/*?options=${options}` });
    } else specs.push({ topic: "feed/*" });
  }
  return specs;
}

async function startBasalt(cfg, dir, dbUrl) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(
    process.execPath,
    [
      ...(cfg.profile ? ["--cpu-prof", "--cpu-prof-dir", cfg.profile] : []),
      BIN,
      "serve",
      "--http",
      `127.0.0.1:${port}`,
      "--dir",
      dir,
      ...(dbUrl ? ["--db", dbUrl] : []),
      "--log-level",
      "warn",
      // every subscriber connects from 127.0.0.1: lift the per-address caps (Security limits) above them
      "--realtime-max-clients-per-ip",
      String(cfg.subscribers + 10),
      "--max-connections-per-ip",
      String(cfg.subscribers + 200),
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
  await new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`basalt exited (${code})`)));
    child.stdout.on("data", (d) => d.toString().includes("Basalt serving") && resolve());
  });
  child.removeAllListeners("exit");
  return { child, port };
}

async function roundBasalt(cfg, round) {
  const dir = mkdtempSync(join(tmpdir(), "basalt-bench-rt-"));
  let db;
  if (cfg.store === "postgres") {
    const { createBenchDatabase } = await import("./pg-kit.mjs");
    db = await createBenchDatabase();
  }
  const { child, port } = await startBasalt(cfg, dir, db?.url);
  const base = `http://127.0.0.1:${port}`;
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  try {
    const su = await httpJson(agent, base, "POST", "/api/collections/_superusers/auth-with-password", {
      identity: "bench@example.com",
      password: "bench-password-1",
    });
    const rule = cfg.mix ? `public = true || @request.auth.id != ""` : "";
    await httpJson(
      agent,
      base,
      "POST",
      "/api/collections",
      {
        name: "feed",
        fields: [
          { name: "title", type: "text" },
          { name: "n", type: "number" },
          { name: "t", type: "number" },
          { name: "public", type: "bool" },
        ],
        listRule: rule,
        viewRule: rule,
        createRule: "",
        updateRule: "",
      },
      su.token,
    );
    const hot = await httpJson(agent, base, "POST", "/api/collections/feed/records", {
      title: "hot",
      n: -1,
      t: 0,
      public: true,
    });
    const tokens = [];
    if (cfg.mix) {
      for (let u = 0; u < 20; u++) {
        const email = `user${u}@example.com`;
        await httpJson(
          agent,
          base,
          "POST",
          "/api/collections/users/records",
          { email, password: "user-password-1", passwordConfirm: "user-password-1" },
          su.token,
        );
        const auth = await httpJson(agent, base, "POST", "/api/collections/users/auth-with-password", {
          identity: email,
          password: "user-password-1",
        });
        tokens.push(auth.token);
      }
    }
    const idleRss = procStatus(child.pid, "VmRSS");
    const writes = cfg.rate * cfg.seconds;
    const receivers = await startReceivers(cfg, port, subscriberSpecs(cfg, hot.id, tokens), writes);
    const connectedRss = procStatus(child.pid, "VmRSS");
    const load0 = loadavg();
    const cpu0 = cpuMs(child.pid);
    const wall0 = performance.now();
    receivers.start();
    const failed = await drive(cfg, (n) => {
      const body = { title: `event ${n}`, n, t: now(), public: true };
      return cfg.mix && n % HOT_EVERY === 0
        ? httpJson(agent, base, "PATCH", `/api/collections/feed/records/${hot.id}`, body)
        : httpJson(agent, base, "POST", "/api/collections/feed/records", body);
    });
    await settle(2000);
    const cpu = cpuMs(child.pid) - cpu0;
    const wall = performance.now() - wall0;
    const s = await receivers.stats(failed);
    const peakRss = procStatus(child.pid, "VmHWM");
    const ok = s.p99 < TARGET_P99_MS && peakRss < TARGET_RSS_MB && s.lost === 0 && s.dup === 0;
    console.log(
      `round ${round}  p50 ${s.p50.toFixed(1)}  p95 ${s.p95.toFixed(1)}  p99 ${s.p99.toFixed(1)}  max ${s.max.toFixed(0)} ms` +
        `  | delivered ${s.received}/${s.expected} lost ${s.lost} dup ${s.dup} unexpected ${s.unexpected} write errors ${failed.length}` +
        `\n         server CPU ${((cpu / wall) * 100).toFixed(0)}% of a core (${(cpu / writes).toFixed(2)} ms/write, ${((cpu * 1000) / Math.max(1, s.received)).toFixed(1)} µs/delivery)` +
        `  RSS idle ${idleRss.toFixed(0)} / connected ${connectedRss.toFixed(0)} / peak ${peakRss.toFixed(0)} MB` +
        `\n         generator: loop lag p99 ${s.lagP99.toFixed(1)} ms max ${s.lagMax.toFixed(1)} ms, CPU ${((s.cpuMs / (cfg.seconds * 1000)) * 100).toFixed(0)}% of a core` +
        `  | load avg ${load0} -> ${loadavg()}` +
        `\n         ${ok ? "PASS" : "FAIL"} (p99 < ${TARGET_P99_MS} ms, peak RSS < ${TARGET_RSS_MB} MB, nothing lost or doubled)`,
    );
    return { ...s, peakRss, ok };
  } finally {
    agent.destroy();
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  }
}

async function roundBare(cfg) {
  const child = fork(HERE, [], { env: { ...process.env, BENCH_RT_ROLE: "bare" } });
  const port = await new Promise((resolve) => child.once("message", (m) => resolve(m.port)));
  const base = `http://127.0.0.1:${port}`;
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  try {
    const writes = cfg.rate * cfg.seconds;
    const specs = Array.from({ length: cfg.subscribers }, () => ({ topic: "feed/*" }));
    const receivers = await startReceivers(cfg, port, specs, writes);
    const cpu0 = cpuMs(child.pid);
    const wall0 = performance.now();
    receivers.start();
    const failed = await drive(cfg, (n) =>
      httpJson(agent, base, "POST", "/api/collections/feed/records", { title: `event ${n}`, n, t: now() }),
    );
    await settle(2000);
    const cpu = cpuMs(child.pid) - cpu0;
    const wall = performance.now() - wall0;
    const s = await receivers.stats(failed);
    console.log(
      `bare     p50 ${s.p50.toFixed(1)}  p95 ${s.p95.toFixed(1)}  p99 ${s.p99.toFixed(1)}  max ${s.max.toFixed(0)} ms` +
        `  | delivered ${s.received}/${s.expected} lost ${s.lost} dup ${s.dup}` +
        `\n         server CPU ${((cpu / wall) * 100).toFixed(0)}% of a core (${((cpu * 1000) / Math.max(1, s.received)).toFixed(1)} µs/delivery), peak RSS ${procStatus(child.pid, "VmHWM").toFixed(0)} MB` +
        `  | generator: loop lag p99 ${s.lagP99.toFixed(1)} ms max ${s.lagMax.toFixed(1)} ms, CPU ${((s.cpuMs / (cfg.seconds * 1000)) * 100).toFixed(0)}% of a core`,
    );
    return s;
  } finally {
    agent.destroy();
    child.kill("SIGTERM");
  }
}

async function main() {
  const cfg = parse();
  console.log(
    `realtime fan-out: ${cfg.subscribers} SSE subscribers${cfg.mix ? " (mixed topics, auth and rules)" : " on feed/*"}, ` +
      `${cfg.rate} writes/s for ${cfg.seconds} s, ${cfg.store}, ${cfg.procs} receiver processes, ` +
      `${cfg.rounds} rounds; load avg ${loadavg()}`,
  );
  const bare = cfg.bare ? await roundBare(cfg) : null;
  const results = [];
  for (let r = 1; r <= cfg.rounds; r++) results.push(await roundBasalt(cfg, r));
  const passed = results.filter((r) => r.ok).length;
  const worst = Math.max(...results.map((r) => r.p99));
  console.log(
    `summary  ${passed}/${results.length} rounds pass; worst p99 ${worst.toFixed(1)} ms` +
      (bare ? ` (${(worst / bare.p99).toFixed(2)}x the bare broadcaster's ${bare.p99.toFixed(1)} ms)` : "") +
      `, worst peak RSS ${Math.max(...results.map((r) => r.peakRss)).toFixed(0)} MB`,
  );
}

if (process.env.BENCH_RT_ROLE === "receiver") receiver();
else if (process.env.BENCH_RT_ROLE === "bare") serveBare();
else await main();
