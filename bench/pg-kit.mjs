// Shared parts of the PostgreSQL benches (records-pg.mjs, records-scale.mjs): a throwaway database, the
// seeded `items` collection, Basalt and bare node:http + pg servers, a round-robin proxy, and autocannon.
// Run as a script it is one of the child processes: `node bench/pg-kit.mjs <role> <json options>`.
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import http from "node:http";
import { fileURLToPath } from "node:url";

export const ROWS = 10_000;
export const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
export const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const LIST_RULE = "public = true && score >= 0";
const VIEW_RULE = "public = true";
export const FILTER = "score > 500";
const here = fileURLToPath(import.meta.url);

function rid() {
  const a = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(randomBytes(15), (b) => a[b % 36]).join("");
}

/** Creates a throwaway database `basalt_bench_<hex>`; returns its URL and a function dropping it. */
export async function createBenchDatabase() {
  const { default: pg } = await import("pg");
  const name = `basalt_bench_${randomBytes(4).toString("hex")}`;
  const admin = async (sql) => {
    const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE "${name}" TEMPLATE template0`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

/** Deletes every Redis key under a prefix (what the instances left: rate-limit counters). */
export async function clearRedisPrefix(prefix) {
  const { Redis } = await import("ioredis");
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

// ---------------------------------------------------------------- children
async function basaltChild({ dataDir, dbUrl, redisUrl = "", redisPrefix = "basalt:", seed = false }) {
  const { createApp } = await import("../packages/server/dist/main.js");
  const { pino } = await import("pino");
  const basalt = await createApp(
    { dataDir, dbUrl, redisUrl, redisPrefix, http: "127.0.0.1:0", logLevel: "silent" },
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
      for (let i = 0; i < ROWS; i += 500) {
        const rows = [];
        for (let j = i; j < Math.min(ROWS, i + 500); j++)
          rows.push([rid(), `Item ${j}`, j % 1000, j % 10 !== 0, now, now]);
        await tx.run(
          `INSERT INTO items (id, title, score, public, created, updated) VALUES ${rows.map(() => "(?, ?, ?, ?, ?, ?)").join(", ")}`,
          rows.flat(),
        );
      }
    });
    const ids = (await app.db.all("SELECT id FROM items WHERE public = ? LIMIT 500", [true])).map(
      (r) => r.id,
    );
    await basalt.close();
    process.send({ ids, collectionId: c.id });
    return;
  }
  const url = await basalt.listen();
  process.once("SIGINT", () => basalt.close().then(() => process.exit(0)));
  process.send({ url });
}

async function bareChild({ dbUrl, collectionId }) {
  const { default: pg } = await import("pg");
  // the same pool size as Basalt's default, values kept as text like Basalt's driver does for dates
  const pool = new pg.Pool({ connectionString: dbUrl, max: 10 });
  const VIEW = "SELECT * FROM items WHERE id = $1 AND public = TRUE";
  const WHERE = "(public = TRUE AND score >= 0) AND (score > $1)";
  const LIST = `SELECT * FROM items WHERE ${WHERE} ORDER BY score DESC LIMIT $2 OFFSET $3`;
  const COUNT = `SELECT COUNT(*)::int AS n FROM items WHERE ${WHERE}`;
  const INSERT =
    "INSERT INTO items (id, title, score, public, created, updated) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *";
  const json = (row) => ({
    collectionId,
    collectionName: "items",
    id: row.id,
    title: row.title,
    score: row.score,
    public: row.public,
    created: row.created,
    updated: row.updated,
  });
  const send = (res, status, body) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  const handle = async (req, res) => {
    const url = new URL(req.url, "http://x");
    if (req.method === "GET" && url.pathname === "/api/collections/items/records") {
      const perPage = Math.min(Number(url.searchParams.get("perPage")) || 30, 1000);
      const [rows, count] = await Promise.all([
        pool.query({ name: "list", text: LIST, values: [500, perPage, 0] }),
        pool.query({ name: "count", text: COUNT, values: [500] }),
      ]);
      const total = count.rows[0].n;
      return send(res, 200, {
        page: 1,
        perPage,
        totalItems: total,
        totalPages: Math.ceil(total / perPage),
        items: rows.rows.map(json),
      });
    }
    const m = /^\/api\/collections\/items\/records\/([a-z0-9]+)$/.exec(url.pathname);
    if (req.method === "GET" && m) {
      const r = await pool.query({ name: "view", text: VIEW, values: [m[1]] });
      return r.rows[0]
        ? send(res, 200, json(r.rows[0]))
        : send(res, 404, { status: 404, message: "Not found.", data: {} });
    }
    if (req.method === "POST" && url.pathname === "/api/collections/items/records") {
      let body = "";
      for await (const chunk of req) body += chunk;
      const data = JSON.parse(body);
      if (typeof data.title !== "string" || !data.title)
        return send(res, 400, { status: 400, message: "Bad.", data: {} });
      const now = new Date().toISOString().replace("T", " ");
      const values = [rid(), data.title, Number(data.score) || 0, Boolean(data.public), now, now];
      const r = await pool.query({ name: "insert", text: INSERT, values });
      return send(res, 200, json(r.rows[0]));
    }
    send(res, 404, { status: 404, message: "Not found.", data: {} });
  };
  const server = http.createServer((req, res) =>
    handle(req, res).catch(() => send(res, 500, { status: 500, message: "Error.", data: {} })),
  );
  process.once("SIGINT", () => process.exit(0));
  server.listen(0, "127.0.0.1", () => process.send({ url: `http://127.0.0.1:${server.address().port}` }));
}

/** A minimal round-robin HTTP proxy with keep-alive connections to the upstreams. */
async function proxyChild({ upstreams }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  const targets = upstreams.map((u) => new URL(u));
  let next = 0;
  const server = http.createServer((req, res) => {
    const target = targets[next++ % targets.length];
    const up = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      },
    );
    up.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  process.once("SIGINT", () => process.exit(0));
  server.listen(0, "127.0.0.1", () => process.send({ url: `http://127.0.0.1:${server.address().port}` }));
}

// ---------------------------------------------------------------- parent helpers
/** Forks a child role of this file and waits for its first message. */
export function child(role, options) {
  const proc = fork(here, [role, JSON.stringify(options)], { stdio: "inherit" });
  return new Promise((resolve, reject) => {
    proc.once("message", (msg) => resolve({ proc, msg, stop: () => stopChild(proc) }));
    proc.once("error", reject);
    proc.once("exit", (code) => code && reject(new Error(`${role} exited with ${code}`)));
  });
}

function stopChild(proc) {
  if (proc.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
    proc.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill("SIGINT");
  });
}

/** Warms a server up, then measures one case (view, list or create) with autocannon. */
export async function measure(url, kase, ids, { duration = DURATION, connections = CONNECTIONS } = {}) {
  const { default: autocannon } = await import("autocannon");
  const warm = await autocannon({
    url: `${url}/api/collections/items/records/${ids[0]}`,
    connections: 4,
    duration: 1,
  });
  const opts = { url, connections, duration, pipelining: 1 };
  if (kase === "view") {
    opts.requests = [
      {
        setupRequest: (r) => ({
          ...r,
          path: `/api/collections/items/records/${ids[Math.floor(Math.random() * ids.length)]}`,
        }),
      },
    ];
  } else if (kase === "list") {
    opts.requests = [
      { path: `/api/collections/items/records?perPage=50&sort=-score&filter=${encodeURIComponent(FILTER)}` },
    ];
  } else {
    opts.requests = [
      {
        method: "POST",
        path: "/api/collections/items/records",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ title: "Bench item", score: 42, public: true }),
      },
    ];
  }
  const r = await autocannon(opts);
  if (r.non2xx || r.errors) throw new Error(`${kase} on ${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  // `served`: every request of the call, warm-up included (for CPU per request read around it)
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    served: r.requests.total + warm.requests.total,
  };
}

/** Prints a result table: two columns of figures per case and the ratio of the second to the first. */
export function printTable(title, [a, b], results) {
  const pad = (s, n) => String(s).padEnd(n);
  console.log(`\n${title}`);
  console.log(
    `${pad("case", 8)}${pad(`${a} req/s`, 16)}${pad("p50/p99 ms", 12)}${pad(`${b} req/s`, 16)}${pad("p50/p99 ms", 12)}ratio`,
  );
  for (const [kase, r] of Object.entries(results)) {
    console.log(
      `${pad(kase, 8)}${pad(Math.round(r[a].rps), 16)}${pad(`${r[a].p50}/${r[a].p99}`, 12)}${pad(Math.round(r[b].rps), 16)}${pad(`${r[b].p50}/${r[b].p99}`, 12)}${(r[b].rps / r[a].rps).toFixed(2)}`,
    );
  }
}

const [role, raw] = process.argv.slice(2);
if (process.argv[1] === here && role) {
  const options = JSON.parse(raw ?? "{}");
  if (role === "basalt") await basaltChild(options);
  else if (role === "bare") await bareChild(options);
  else if (role === "proxy") await proxyChild(options);
}
