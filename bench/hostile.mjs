// Hostile-client bench (issue 10): the normal client of the hostile-client suite (GET /api/health and a page
// of a public list, alternating, in a process of its own) measured for a window with no attack, then for a
// window under each attack class, in the same run against the same server (a process of its own). Prints
// p50/p99 for both windows and the ratio of the p99s. Run `npm run build` first, then
// `node bench/hostile.mjs [--pg]` (BENCH_WINDOW_MS per window, default 3000; BENCH_ATTACKERS, default 4;
// BENCH_PG_URL; BENCH_CONFIG, JSON merged into the server's config, e.g. '{"sqliteReadThreads":0}' for the
// SQLite baseline without reader threads; BENCH_CLASSES, a comma-separated list of parts of class names to run only those;
// BENCH_SERVER_NODE_ARGS, space-separated node options for the server process, e.g. `--cpu-prof
// --cpu-prof-dir=prof` to profile it; about a minute).
import { fork, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createBenchDatabase } from "./pg-kit.mjs";

const harness = (name) => fileURLToPath(new URL(`../packages/server/test/harness/${name}`, import.meta.url));
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 3000);
const ATTACKERS = Number(process.env.BENCH_ATTACKERS ?? 4);
const ONLY = (process.env.BENCH_CLASSES ?? "").split(",").filter(Boolean);
const SUPERUSER = { email: "bench@example.com", password: "bench-password-1" };
const LIST = "/api/collections/notes/records?perPage=20&sort=-score";
const SEED_USERS = 100_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startServer(config) {
  const dataDir = mkdtempSync(join(tmpdir(), "basalt-bench-hostile-"));
  const env = {
    ...process.env,
    BASALT_HOSTILE_CONFIG: JSON.stringify({ dataDir, superuser: SUPERUSER, ...config }),
  };
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, harness("hostile-server.mjs")], {
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  while (!/ready (\S+)/.test(out)) {
    if (child.exitCode !== null) throw new Error(`server exited: ${out}`);
    await sleep(50);
  }
  const url = /ready (\S+)/.exec(out)[1];
  const rss = () =>
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))[1]) / 1024;
  const stop = async () => {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { url, rss, stop };
}

let url = "";
let su = "";
let hostilePage = "";
async function api(path, { method = "GET", json, token } = {}) {
  const headers = {};
  if (json !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = token;
  const res = await fetch(url + path, {
    method,
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

async function window(attack) {
  const child = fork(harness("hostile-probe.mjs"), [url, LIST]);
  let report;
  const done = new Promise((r) => (report = r));
  await new Promise((r) => child.on("message", (m) => (m === "started" ? r() : report(m))));
  let attacked = null;
  if (attack) attacked = await attack();
  else await sleep(WINDOW_MS);
  child.send("stop");
  const { samples } = await done;
  const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
  const all = [...samples.health, ...samples.list];
  return { p50: pct(all, 0.5), p99: pct(all, 0.99), n: all.length, attacked };
}

async function during(workers, fn) {
  const end = Date.now() + WINDOW_MS;
  let i = 0;
  const statuses = {};
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < end) {
        const s = await fn(i++);
        statuses[s] = (statuses[s] ?? 0) + 1;
      }
    }),
  );
  return statuses;
}

function openStream() {
  return new Promise((resolve) => {
    const req = http.request(
      `${url}/api/realtime`,
      { agent: false, headers: { accept: "text/event-stream" } },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode }));
          return;
        }
        res.setEncoding("utf8");
        let buf = "";
        res.on("data", (c) => {
          buf += c;
          const id = /id:(\S+)\nevent:PB_CONNECT/.exec(buf)?.[1];
          if (id) resolve({ status: 200, clientId: id, close: () => req.destroy() });
        });
      },
    );
    req.on("error", () => resolve({ status: 0 }));
    req.end();
  });
}

const topic = (c, k, pad) =>
  `notes/*?options=${encodeURIComponent(JSON.stringify({ query: { filter: `title != '${"x".repeat(pad)}${c}-${k}'` } }))}`;

const attacks = {
  "sign-in look-ups": () =>
    during(ATTACKERS, async (i) => {
      const email = i % 2 ? `seeded${(i * 7919) % SEED_USERS}@example.com` : `nobody${i}@example.com`;
      return (
        await api("/api/collections/users/auth-with-password", {
          method: "POST",
          json: { identity: email, password: "nope-nope" },
        })
      ).status;
    }),
  "10,000 idle SSE": async () => {
    const open = [];
    const statuses = {};
    let next = 0;
    await Promise.all(
      Array.from({ length: 200 }, async () => {
        while (next++ < 10_000) {
          const s = await openStream();
          statuses[s.status] = (statuses[s.status] ?? 0) + 1;
          if (s.close) open.push(s);
        }
      }),
    );
    await sleep(1000);
    for (const s of open) s.close();
    return statuses;
  },
  "subscription flood": async () => {
    const open = [];
    const statuses = {};
    const add = (s) => (statuses[s] = (statuses[s] ?? 0) + 1);
    for (let i = 0; i < 100; i++) {
      const s = await openStream();
      add(s.status);
      if (s.close) open.push(s);
    }
    const writes = during(1, async (i) => {
      await sleep(50);
      return (
        await api("/api/collections/notes/records", { method: "POST", token: su, json: { title: `w${i}` } })
      ).status;
    });
    for (const [c, s] of open.entries()) {
      const post = (subscriptions) =>
        api("/api/realtime", { method: "POST", json: { clientId: s.clientId, subscriptions } });
      add((await post(Array.from({ length: 1000 }, (_, k) => topic(c, k, 150)))).status);
      add((await post(Array.from({ length: 100 }, (_, k) => topic(c, k, 450)))).status);
    }
    await writes;
    for (const s of open) s.close();
    return statuses;
  },
  "expand bomb": () =>
    during(
      ATTACKERS,
      async () =>
        (await api("/api/collections/links/records?perPage=30&expand=links.links.links.links.links.links"))
          .status,
    ),
  "six-hop filter": () =>
    during(ATTACKERS, async () => {
      const f = "author.posts_via_author.author.posts_via_author.author.posts_via_author.title ?!= title";
      return (await api(`/api/collections/posts/records?filter=${encodeURIComponent(f)}`)).status;
    }),
  "excerpt of 400 KB HTML": () =>
    during(
      ATTACKERS,
      async () =>
        (await api(`/api/collections/pages/records/${hostilePage}?fields=id,content:excerpt(20)`)).status,
    ),
  "backtracking pattern": () =>
    during(ATTACKERS, async () => {
      const json = { words: `${"a ".repeat(2000)}!` };
      return (await api("/api/collections/words/records", { method: "POST", json })).status;
    }),
  "two-hop filter": () =>
    during(ATTACKERS, async () => {
      const f = "author.posts_via_author.author.posts_via_author.title ?= 'nothing matches this'";
      return (await api(`/api/collections/posts/records?perPage=5&filter=${encodeURIComponent(f)}`)).status;
    }),
};

async function seed() {
  su = (
    await api("/api/collections/_superusers/auth-with-password", {
      method: "POST",
      json: { identity: SUPERUSER.email, password: SUPERUSER.password },
    })
  ).body.token;
  const collection = async (name, fields) =>
    (
      await api("/api/collections", {
        method: "POST",
        token: su,
        json: { name, fields, listRule: "", viewRule: "" },
      })
    ).body.id;
  const create = async (name, json) =>
    (await api(`/api/collections/${name}/records`, { method: "POST", token: su, json })).body.id;
  await collection("notes", [
    { name: "title", type: "text" },
    { name: "score", type: "number" },
  ]);
  for (let i = 0; i < 50; i++) await create("notes", { title: `note ${i}`, score: i });
  const links = await collection("links", [{ name: "name", type: "text" }]);
  await api("/api/collections/links", {
    method: "PATCH",
    token: su,
    json: {
      fields: [
        { name: "name", type: "text" },
        { name: "links", type: "relation", collectionId: links, maxSelect: 30 },
      ],
    },
  });
  const ids = [];
  for (let i = 0; i < 30; i++) ids.push(await create("links", { name: `l${i}` }));
  for (const id of ids)
    await api(`/api/collections/links/records/${id}`, { method: "PATCH", token: su, json: { links: ids } });
  await api("/api/collections", {
    method: "POST",
    token: su,
    json: {
      name: "pages",
      fields: [{ name: "content", type: "editor", maxSize: 2_000_000 }],
      listRule: "",
      viewRule: "",
    },
  });
  const content = [
    "<p>Visible start</p>",
    "<a ".repeat(30_000),
    "<script>".repeat(15_000),
    "<!--".repeat(15_000),
    "&".repeat(40_000),
    "<div>".repeat(10_000),
  ];
  hostilePage = await create("pages", { content: content.join("") });
  await api("/api/collections", {
    method: "POST",
    token: su,
    json: {
      name: "words",
      fields: [{ name: "words", type: "text", pattern: "^(\\w+\\s?)+$" }],
      createRule: "",
    },
  });
  const authors = await collection("authors", [{ name: "name", type: "text" }]);
  await collection("posts", [
    { name: "title", type: "text" },
    { name: "author", type: "relation", collectionId: authors, maxSelect: 1 },
  ]);
  for (let a = 0; a < 20; a++) {
    const author = await create("authors", { name: `a${a}` });
    await Promise.all(Array.from({ length: 50 }, (_, k) => create("posts", { title: `p${a}-${k}`, author })));
  }
}

async function run(label, config) {
  const extra = JSON.parse(process.env.BENCH_CONFIG ?? "{}");
  const server = await startServer({ seedUsers: SEED_USERS, ...config, ...extra });
  if (Object.keys(extra).length) console.log(`${label}: config ${JSON.stringify(extra)}`);
  url = server.url;
  try {
    console.log(`${label}: seeding`);
    await seed();
    await window(null); // warm-up
    console.log(
      `\n${label}: normal client (health + list), ${WINDOW_MS} ms windows, ${ATTACKERS} attacker requests in flight`,
    );
    console.log(
      "  class                  quiet p50/p99 ms   attacked p50/p99 ms   p99 ratio   RSS MiB   attacker statuses",
    );
    for (const [name, attack] of Object.entries(attacks)) {
      if (ONLY.length && !ONLY.some((part) => name.includes(part))) continue;
      const quiet = await window(null);
      const hit = await window(attack);
      console.log(
        `  ${name.padEnd(22)} ${quiet.p50.toFixed(1).padStart(6)} / ${quiet.p99.toFixed(1).padEnd(8)} ${hit.p50.toFixed(1).padStart(8)} / ${hit.p99.toFixed(1).padEnd(10)} ${(hit.p99 / quiet.p99).toFixed(1).padStart(7)}   ${server.rss().toFixed(0).padStart(7)}   ${JSON.stringify(hit.attacked)}`,
      );
      await sleep(500);
    }
  } finally {
    await server.stop();
  }
}

if (process.argv.includes("--pg")) {
  const db = await createBenchDatabase();
  try {
    await run("PostgreSQL", { dbUrl: db.url, dbMaxConnections: 5 });
  } finally {
    await db.drop();
  }
} else {
  await run("SQLite", {});
}
