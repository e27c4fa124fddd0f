// Full-text search bench (issue 18): latency of `search=` list requests as a collection grows from 10
// thousand to 100 thousand (and, with --million, 1 million) records, against baselines measured in the same
// run on the same data: a plain list page, and the `filter` a client without search would send
// (`title ~ 'word' || body ~ 'word'`, a scan). Run `npm run build` first, then `node bench/search.mjs`
// (SQLite, ~1 minute) or `node bench/search.mjs --postgres` (a throwaway database, dropped afterwards).
// `--million` adds the 1M step (several minutes of seeding). Requests are sequential, one at a time, over one
// keep-alive connection to a Basalt in this process, so each figure is one request's latency.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBenchDatabase } from "./pg-kit.mjs";

const args = new Set(process.argv.slice(2));
const POSTGRES = args.has("--postgres");
const SIZES = args.has("--million") ? [10_000, 100_000, 1_000_000] : [10_000, 100_000];
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const SCAN_REQUESTS = Number(process.env.BENCH_SCAN_REQUESTS ?? 20);
const BATCH = 500;

// A vocabulary of 2,000 made-up words, drawn with a skewed (Zipf-like) frequency as natural text is.
let seed = 42;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const SYLLABLES = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "de", "va", "zo", "gu", "he", "fi", "by"];
const VOCAB = Array.from({ length: 2000 }, (_, i) => {
  let w = "";
  for (let n = i + 7; n > 0; n = Math.floor(n / 15)) w += SYLLABLES[n % 15];
  return w;
});
const word = () => VOCAB[Math.floor(VOCAB.length * rand() ** 3)];
const words = (n) => Array.from({ length: n }, word).join(" ");
// "quokka" is in exactly 20 records whatever the size (a selective search); "marmot" in 1% of them (a
// broad one, whose every match must be ranked).
const RARE = "quokka";
const COMMON = "marmot";
const PREFIX = VOCAB[0].slice(0, 3);

function rid() {
  const a = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(randomBytes(15), (b) => a[b % 36]).join("");
}

async function seedRows(db, from, to) {
  const now = new Date().toISOString().replace("T", " ");
  for (let start = from; start < to; start += BATCH) {
    const rows = [];
    for (let i = start; i < Math.min(to, start + BATCH); i++) {
      let title = words(5);
      if (i < 20) title += ` ${RARE}`;
      if (i % 100 === 50) title += ` ${COMMON}`;
      rows.push([rid(), title, `<p>${words(40)}</p>`, i % 1000, now, now]);
    }
    const tuple = "(?, ?, ?, ?, ?, ?)";
    await db.transaction((tx) =>
      tx.run(
        `INSERT INTO docs (id, title, body, score, created, updated) VALUES ${rows.map(() => tuple).join(", ")}`,
        rows.flat(),
      ),
    );
  }
}

let agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function get(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          if (res.statusCode !== 200) reject(new Error(`${res.statusCode} ${Buffer.concat(chunks)}`));
          else resolve(JSON.parse(Buffer.concat(chunks).toString()));
        });
      })
      .on("error", reject);
  });
}

async function latency(url, requests) {
  for (let i = 0; i < Math.min(10, requests); i++) await get(url);
  const times = [];
  let last;
  for (let i = 0; i < requests; i++) {
    const t = process.hrtime.bigint();
    last = await get(url);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  const at = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))];
  return { p50: at(50), p99: at(99), total: last.totalItems };
}

const CASES = [
  ["plain list (baseline)", "perPage=20&skipTotal=1", REQUESTS],
  [`search "${RARE}" (20 matches)`, `perPage=20&search=${RARE}`, REQUESTS],
  [`search "${RARE} ${PREFIX}…" (prefix)`, `perPage=20&search=${RARE}+${PREFIX}`, REQUESTS],
  [
    `search "${RARE}" + filter`,
    `perPage=20&search=${RARE}&filter=${encodeURIComponent("score < 500")}`,
    REQUESTS,
  ],
  [`search "${COMMON}" (1% match)`, `perPage=20&search=${COMMON}`, REQUESTS],
  [
    `filter ~ "${RARE}" (no search: scan)`,
    `perPage=20&filter=${encodeURIComponent(`title ~ '${RARE}' || body ~ '${RARE}'`)}`,
    SCAN_REQUESTS,
  ],
];

const dataDir = mkdtempSync(join(tmpdir(), "basalt-bench-search-"));
const pg = POSTGRES ? await createBenchDatabase() : undefined;
const { createApp } = await import("../packages/server/dist/main.js");
const { pino } = await import("pino");
const basalt = await createApp(
  { dataDir, http: "127.0.0.1:0", logLevel: "silent", ...(pg ? { dbUrl: pg.url } : {}) },
  pino({ level: "silent" }),
);
try {
  const app = basalt.app;
  await app.collections.create({
    name: "docs",
    type: "base",
    listRule: "score >= 0",
    fields: [
      { name: "title", type: "text" },
      { name: "body", type: "editor" },
      { name: "score", type: "number" },
      { name: "created", type: "autodate", onCreate: true },
      { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
    ],
  });
  const base = `${await basalt.listen()}/api/collections/docs/records?`;
  const results = [];
  let have = 0;
  for (const size of SIZES) {
    // Big steps go in with the index off and build it in one go by turning search on (the import path);
    // small ones keep it up row by row through the triggers / GIN index (the write path).
    const bulk = have === 0 || size - have > 100_000;
    if (bulk && have) await app.collections.update("docs", { search: null });
    let t = Date.now();
    await seedRows(app.db, have, size);
    const seeded = (Date.now() - t) / 1000;
    let how = "index kept up by the writes";
    if (bulk) {
      t = Date.now();
      await app.collections.update("docs", { search: { fields: ["title", "body"] } });
      how = `index built in ${((Date.now() - t) / 1000).toFixed(1)}s`;
    }
    console.log(
      `${size.toLocaleString("en")} records (${(size - have).toLocaleString("en")} seeded in ${seeded.toFixed(1)}s, ${how})`,
    );
    have = size;
    // the server closed the connection that idled through the seeding
    agent.destroy();
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const row = { size, cases: {} };
    for (const [name, query, requests] of CASES) {
      let r;
      try {
        r = await latency(base + query, requests);
      } catch (err) {
        // e.g. the scan running into the query time limit (a 400): say so and go on
        console.log(`  ${name.padEnd(36)} refused: ${String(err.message).slice(0, 110)}`);
        continue;
      }
      row.cases[name] = r;
      console.log(
        `  ${name.padEnd(36)} p50 ${r.p50.toFixed(2).padStart(8)} ms  p99 ${r.p99.toFixed(2).padStart(8)} ms  totalItems ${r.total}`,
      );
    }
    results.push(row);
  }
  const first = results[0];
  const lastRow = results[results.length - 1];
  console.log(
    `\nsearch bench on ${POSTGRES ? "PostgreSQL" : "SQLite"}, ${REQUESTS} sequential requests per case (${SCAN_REQUESTS} for the scan), node ${process.version}`,
  );
  console.log(
    `p50 at ${lastRow.size.toLocaleString("en")} / at ${first.size.toLocaleString("en")} records, and against the plain list at ${lastRow.size.toLocaleString("en")}:`,
  );
  const plain = lastRow.cases[CASES[0][0]].p50;
  for (const [name] of CASES) {
    if (!lastRow.cases[name] || !first.cases[name]) continue;
    const growth = lastRow.cases[name].p50 / first.cases[name].p50;
    const vsPlain = lastRow.cases[name].p50 / plain;
    console.log(
      `  ${name.padEnd(36)} x${growth.toFixed(2).padStart(7)} growth   x${vsPlain.toFixed(2).padStart(8)} the plain list`,
    );
  }
} finally {
  agent.destroy();
  await basalt.close();
  await pg?.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
