// GraphQL bench (issue 16): list-50 and view-one through /api/graphql against the same through REST, on one
// Basalt in the same run (target: GraphQL at least 0.7 of REST). Run `npm run build` first, then
// `node bench/graphql.mjs` (loopback only, about 30 seconds). Basalt runs in a child process; autocannon
// drives it from this one.
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROWS = 10_000;
const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const FILTER = "score > 500";
const FIELDS = "id collectionId collectionName title score public created updated";
const here = fileURLToPath(import.meta.url);

function rid() {
  const a = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(randomBytes(15), (b) => a[b % 36]).join("");
}

async function serve(dataDir) {
  const { createApp } = await import("../packages/server/dist/main.js");
  const { pino } = await import("pino");
  const basalt = await createApp(
    { dataDir, http: "127.0.0.1:0", logLevel: "silent" },
    pino({ level: "silent" }),
  );
  const app = basalt.app;
  await app.collections.create({
    name: "items",
    type: "base",
    listRule: "public = true && score >= 0",
    viewRule: "public = true",
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
  const url = await basalt.listen();
  process.once("SIGINT", () => basalt.close().then(() => process.exit(0)));
  process.send({ url, ids });
}

function requestsFor(kase, ids) {
  const pick = () => ids[Math.floor(Math.random() * ids.length)];
  const gql = (query, variables) => ({
    method: "POST",
    path: "/api/graphql",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  switch (kase) {
    case "rest list-50":
      return [
        {
          path: `/api/collections/items/records?perPage=50&sort=-score&filter=${encodeURIComponent(FILTER)}`,
        },
      ];
    case "graphql list-50":
      return [
        gql(
          `query($f: String) { listItems(perPage: 50, sort: "-score", filter: $f) { page perPage totalItems totalPages items { ${FIELDS} } } }`,
          { f: FILTER },
        ),
      ];
    case "rest view":
      return [{ setupRequest: (r) => ({ ...r, path: `/api/collections/items/records/${pick()}` }) }];
    default:
      return [
        {
          setupRequest: (r) => ({
            ...r,
            ...gql(`query($id: ID!) { viewItems(id: $id) { ${FIELDS} } }`, { id: pick() }),
          }),
        },
      ];
  }
}

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), "basalt-bench-gql-"));
  const proc = fork(here, ["serve", dataDir], { stdio: "inherit" });
  try {
    const { url, ids } = await new Promise((resolve, reject) => {
      proc.once("message", resolve);
      proc.once("error", reject);
    });
    const { default: autocannon } = await import("autocannon");
    const results = {};
    for (const kase of ["rest list-50", "graphql list-50", "rest view", "graphql view"]) {
      const requests = requestsFor(kase, ids);
      await autocannon({ url, connections: 4, duration: 1, requests });
      const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, requests });
      if (r.non2xx || r.errors) throw new Error(`${kase}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      results[kase] = { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
    }
    const pad = (s, n) => String(s).padEnd(n);
    console.log(
      `\ngraphql bench: ${ROWS} rows, ${CONNECTIONS} connections, ${DURATION}s per case, node ${process.version}`,
    );
    console.log(
      `${pad("case", 10)}${pad("REST req/s", 12)}${pad("p50/p99 ms", 12)}${pad("GraphQL req/s", 15)}${pad("p50/p99 ms", 12)}ratio`,
    );
    for (const kase of ["list-50", "view"]) {
      const rest = results[`rest ${kase}`];
      const g = results[`graphql ${kase}`];
      const ratio = g.rps / rest.rps;
      console.log(
        `${pad(kase, 10)}${pad(Math.round(rest.rps), 12)}${pad(`${rest.p50}/${rest.p99}`, 12)}${pad(Math.round(g.rps), 15)}${pad(`${g.p50}/${g.p99}`, 12)}${ratio.toFixed(2)}${ratio < 0.7 ? "  (below the 0.7 target)" : ""}`,
      );
    }
  } finally {
    proc.kill("SIGINT");
    await new Promise((r) => proc.once("exit", r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const [role, dataDir] = process.argv.slice(2);
if (role === "serve") await serve(dataDir);
else await main();
