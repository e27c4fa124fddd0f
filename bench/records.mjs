// Records API bench: Basalt against a bare node:http + better-sqlite3 server doing the same queries on the
// same 10,000 rows. Run `npm run build` first, then `node bench/records.mjs` (loopback only, ~1 minute).
// Each server runs in its own child process; autocannon drives it from this process.
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { measure as measureCase } from "./pg-kit.mjs";

const ROWS = 10_000;
const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const LIST_RULE = "public = true && score >= 0";
const VIEW_RULE = "public = true";
const here = fileURLToPath(import.meta.url);
const measure = (url, kase, ids) =>
  measureCase(url, kase, ids, { duration: DURATION, connections: CONNECTIONS });

function rid() {
  const a = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(randomBytes(15), (b) => a[b % 36]).join("");
}

// ---------------------------------------------------------------- child: Basalt
async function serveBasalt(dataDir, seed) {
  const { createApp } = await import("../packages/server/dist/main.js");
  const { pino } = await import("pino");
  const basalt = await createApp(
    { dataDir, http: "127.0.0.1:0", logLevel: "silent" },
    pino({ level: "silent" }),
  );
  if (seed) {
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
  const url = await basalt.listen();
  // a clean exit on SIGINT lets `--cpu-prof` write its profile when profiling a run
  process.once("SIGINT", () => basalt.close().then(() => process.exit(0)));
  process.send({ url });
}

// ---------------------------------------------------------------- child: the bare baseline
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

// ---------------------------------------------------------------- parent: measure
function child(role, dataDir, extra = "") {
  const proc = fork(here, [role, dataDir, extra], { stdio: "inherit" });
  return new Promise((resolve, reject) => {
    proc.once("message", (msg) => resolve({ proc, msg }));
    proc.once("error", reject);
    proc.once("exit", (code) => code && reject(new Error(`${role} exited with ${code}`)));
  });
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "basalt-bench-"));
  try {
    const seeded = await child("seed", dataDir);
    const { ids, collectionId } = seeded.msg;
    const results = {};
    for (const kase of ["view", "list", "create"]) {
      results[kase] = {};
      for (const role of ["bare", "basalt"]) {
        const s = await child(role, dataDir, collectionId);
        // a short warm-up so both run with prepared statements and JIT-compiled code
        const { default: autocannon } = await import("autocannon");
        await autocannon({
          url: `${s.msg.url}/api/collections/items/records/${ids[0]}`,
          connections: 4,
          duration: 1,
        });
        results[kase][role] = await measure(s.msg.url, kase, ids);
        s.proc.kill();
      }
    }
    const pad = (s, n) => String(s).padEnd(n);
    console.log(
      `\nrecords bench: ${ROWS} rows, ${CONNECTIONS} connections, ${DURATION}s per case, node ${process.version}`,
    );
    console.log(
      `${pad("case", 8)}${pad("bare req/s", 12)}${pad("p50/p99 ms", 12)}${pad("basalt req/s", 14)}${pad("p50/p99 ms", 12)}ratio`,
    );
    for (const [kase, r] of Object.entries(results)) {
      const ratio = r.basalt.rps / r.bare.rps;
      console.log(
        `${pad(kase, 8)}${pad(Math.round(r.bare.rps), 12)}${pad(`${r.bare.p50}/${r.bare.p99}`, 12)}${pad(Math.round(r.basalt.rps), 14)}${pad(`${r.basalt.p50}/${r.basalt.p99}`, 12)}${ratio.toFixed(2)}${ratio < 0.7 ? "  (below the 0.7 target)" : ""}`,
      );
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const [role, dataDir, extra] = process.argv.slice(2);
if (role === "seed") await serveBasalt(dataDir, true);
else if (role === "basalt") await serveBasalt(dataDir, false);
else if (role === "bare") await serveBare(dataDir, extra);
else await main();
