// Workers bench (issue 19): `basalt serve` as one process and as `--workers 2`, against the bare node:http +
// better-sqlite3 server of bench/records.mjs, on the same 10,000 rows, in the same run. Run `npm run build`
// first, then `node bench/records-workers.mjs` (loopback only; BENCH_ROUNDS rounds, default 3, of
// BENCH_SECONDS seconds per case, default 5). Each round starts from a fresh copy of the seeded data folder,
// runs view, list, then create against each server in turn (the servers' order rotating), and the table
// shows every round's figure, so the spread on a busy machine is visible rather than averaged away.
import { fork, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { createServer } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { measure } from "./pg-kit.mjs";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
// BENCH_BASALT_BIN measures another build of the CLI (its dist/ beside its bin/)
const BIN =
  process.env.BENCH_BASALT_BIN ?? fileURLToPath(new URL("../packages/server/bin/basalt.js", import.meta.url));
const DIST = pathToFileURL(join(dirname(BIN), "..", "dist", "main.js")).href;
const CASES = ["view", "list", "create"];

// The seeding and the bare baseline below are those of bench/records.mjs when this bench was written (kept
// here so each bench can change on its own): the same rows, rules and queries.
const ROWS = 10_000;
const LIST_RULE = "public = true && score >= 0";
const VIEW_RULE = "public = true";

function rid() {
  const a = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(randomBytes(15), (b) => a[b % 36]).join("");
}

async function seedData(dataDir) {
  const { createApp } = await import(DIST);
  const { pino } = await import("pino");
  const basalt = await createApp(
    { dataDir, http: "127.0.0.1:0", logLevel: "silent" },
    pino({ level: "silent" }),
  );
  {
    const app = basalt.app;
    const c = await app.collections.create({
      name: "items",
      type: "base",
      listRule: LIST_RULE,
      viewRule: VIEW_RULE,
      createRule: "",
      fields: [
        { name: "title", type: "text", required: true, max: 100 },
        { name: "score", type: "number", min: 0 },
        { name: "public", type: "bool" },
        { name: "created", type: "autodate", onCreate: true },
        { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
      ],
      indexes: ["CREATE INDEX idx_items_score ON items (score)"],
    });
    const now = new Date().toISOString().replace("T", " ");
    await app.db.transaction(async (tx) => {
      for (let i = 0; i < ROWS; i++) {
        await tx.run(
          "INSERT INTO items (id, title, score, public, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
          [rid(), `Item ${i}`, i % 1000, i % 10 !== 0, now, now],
        );
      }
    });
    const ids = (await app.db.all("SELECT id FROM items WHERE public = 1 LIMIT 500")).map((r) => r.id);
    await basalt.close();
    process.send({ ids, collectionId: c.id });
    return;
  }
}

async function serveBare(dataDir, collectionId) {
  const { default: Database } = await import("better-sqlite3");
  const db = new Database(join(dataDir, "data.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 10000");
  const view = db.prepare("SELECT * FROM items WHERE id = ? AND public = 1");
  const list = db.prepare(
    "SELECT * FROM items WHERE (public = 1 AND score >= 0) AND (score > ?) ORDER BY score DESC LIMIT ? OFFSET ?",
  );
  const count = db.prepare(
    "SELECT COUNT(*) AS n FROM items WHERE (public = 1 AND score >= 0) AND (score > ?)",
  );
  const insert = db.prepare(
    "INSERT INTO items (id, title, score, public, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const byId = db.prepare("SELECT * FROM items WHERE id = ?");
  const json = (row) => ({
    collectionId,
    collectionName: "items",
    id: row.id,
    title: row.title,
    score: row.score,
    public: row.public === 1,
    created: row.created,
    updated: row.updated,
  });
  const send = (res, status, body) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (req.method === "GET" && url.pathname === "/api/collections/items/records") {
      const perPage = Math.min(Number(url.searchParams.get("perPage")) || 30, 1000);
      const rows = list.all(500, perPage, 0);
      const total = count.get(500).n;
      return send(res, 200, {
        page: 1,
        perPage,
        totalItems: total,
        totalPages: Math.ceil(total / perPage),
        items: rows.map(json),
      });
    }
    const m = /^\/api\/collections\/items\/records\/([a-z0-9]+)$/.exec(url.pathname);
    if (req.method === "GET" && m) {
      const row = view.get(m[1]);
      return row
        ? send(res, 200, json(row))
        : send(res, 404, { status: 404, message: "Not found.", data: {} });
    }
    if (req.method === "POST" && url.pathname === "/api/collections/items/records") {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        const data = JSON.parse(body);
        if (typeof data.title !== "string" || !data.title)
          return send(res, 400, { status: 400, message: "Bad.", data: {} });
        const id = rid();
        const now = new Date().toISOString().replace("T", " ");
        insert.run(id, data.title, Number(data.score) || 0, data.public ? 1 : 0, now, now);
        send(res, 200, json(byId.get(id)));
      });
      return;
    }
    send(res, 404, { status: 404, message: "Not found.", data: {} });
  });
  process.once("SIGINT", () => process.exit(0));
  server.listen(0, "127.0.0.1", () => process.send({ url: `http://127.0.0.1:${server.address().port}` }));
}

const HERE = fileURLToPath(import.meta.url);

/** Runs a role of this file (the seeding, or the bare server) in a child; resolves with its message. */
function forkRecords(role, dataDir, extra = "") {
  const proc = fork(HERE, [role, dataDir, extra], { stdio: "inherit" });
  const stop = () =>
    new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once("exit", () => resolve());
      proc.kill("SIGINT");
    });
  return new Promise((resolve, reject) => {
    proc.once("message", (msg) => resolve({ msg, stop }));
    proc.once("error", reject);
    proc.once("exit", (code) => code && reject(new Error(`${role} exited with ${code}`)));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `basalt serve` (with `--workers n` when n > 1) on the data folder; resolves once it serves. */
async function serveCli(dataDir, workers) {
  const port = await freePort();
  const args = [BIN, "serve", "--dir", dataDir, "--http", `127.0.0.1:${port}`, "--log-level", "silent"];
  if (workers > 1) args.push("--workers", String(workers));
  const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const deadline = Date.now() + 120_000;
  while (!out.includes("Basalt serving")) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`basalt serve --workers ${workers} did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = () =>
    new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve();
      const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      proc.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      proc.kill("SIGTERM");
    });
  return { url: `http://127.0.0.1:${port}`, stop };
}

async function main() {
  const seedDir = mkdtempSync(join(tmpdir(), "basalt-bench-workers-"));
  const dirs = [seedDir];
  try {
    const seeded = await forkRecords("seed", seedDir);
    const { ids, collectionId } = seeded.msg;
    const servers = {
      bare: async (dir) => {
        const s = await forkRecords("bare", dir, collectionId);
        return { url: s.msg.url, stop: () => s.stop() };
      },
      "1 process": (dir) => serveCli(dir, 1),
      "2 workers": (dir) => serveCli(dir, 2),
    };
    const results = Object.fromEntries(
      CASES.map((c) => [c, Object.fromEntries(Object.keys(servers).map((s) => [s, []]))]),
    );
    for (let round = 1; round <= ROUNDS; round++) {
      const dir = mkdtempSync(join(tmpdir(), "basalt-bench-workers-round-"));
      dirs.push(dir);
      cpSync(seedDir, dir, { recursive: true });
      // the order rotates each round, so a drift in the machine's load does not always favour the same server
      const entries = Object.entries(servers);
      const order = [...entries.slice((round - 1) % 3), ...entries.slice(0, (round - 1) % 3)];
      for (const [name, start] of order) {
        const server = await start(dir);
        try {
          for (const kase of CASES) {
            const r = await measure(server.url, kase, ids, { duration: DURATION, connections: CONNECTIONS });
            results[kase][name].push(r);
          }
        } finally {
          await server.stop();
        }
      }
      process.stderr.write(`round ${round}/${ROUNDS} done\n`);
    }
    const pad = (s, n) => String(s).padEnd(n);
    const rps = (list) => list.map((r) => Math.round(r.rps));
    const median = (xs) => {
      const sorted = [...xs].sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    };
    console.log(
      `\nrecords workers bench: 10000 rows, ${CONNECTIONS} connections, ${DURATION}s per case, ${ROUNDS} rounds, ` +
        `${availableParallelism()} cores shared with the load generator, node ${process.version}`,
    );
    console.log(
      `${pad("case", 8)}${pad("bare req/s", 22)}${pad("1 process req/s", 22)}${pad("2 workers req/s", 22)}${pad("1p/bare", 9)}${pad("2w/bare", 9)}2w/1p (medians)`,
    );
    for (const kase of CASES) {
      const r = results[kase];
      const [bare, one, two] = ["bare", "1 process", "2 workers"].map((n) => median(rps(r[n])));
      console.log(
        `${pad(kase, 8)}${pad(rps(r.bare).join(" "), 22)}${pad(rps(r["1 process"]).join(" "), 22)}${pad(rps(r["2 workers"]).join(" "), 22)}` +
          `${pad((one / bare).toFixed(2), 9)}${pad((two / bare).toFixed(2), 9)}${(two / one).toFixed(2)}`,
      );
    }
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

const [role, roleDir, roleExtra] = process.argv.slice(2);
if (role === "seed") await seedData(roleDir);
else if (role === "bare") await serveBare(roleDir, roleExtra);
else await main();
