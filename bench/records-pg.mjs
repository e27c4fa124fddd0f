// Records API bench on PostgreSQL: Basalt against a bare node:http + pg server doing the same queries on
// the same 10,000 rows, in a throwaway database dropped afterwards. Run `npm run build` first, then
// `node bench/records-pg.mjs` (loopback only, ~1 minute; BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_PG_URL).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CONNECTIONS,
  child,
  createBenchDatabase,
  DURATION,
  FILTER,
  measure,
  printTable,
  ROWS,
} from "./pg-kit.mjs";

/** Checks once that both servers answer the list and view requests with the same records (ties in any order). */
async function sameAnswers(dataDir, dbUrl, collectionId, ids) {
  const answers = [];
  for (const role of ["bare", "basalt"]) {
    const s = await child(role, { dataDir, dbUrl, collectionId });
    try {
      const list = await (
        await fetch(
          `${s.msg.url}/api/collections/items/records?perPage=50&sort=-score&filter=${encodeURIComponent(FILTER)}`,
        )
      ).json();
      const one = await (await fetch(`${s.msg.url}/api/collections/items/records/${ids[0]}`)).json();
      answers.push(
        JSON.stringify([
          list.totalItems,
          list.items.map((r) => [r.score, r.id, r.public]).sort(),
          one.id,
          one.title,
        ]),
      );
    } finally {
      await s.stop();
    }
  }
  if (answers[0] !== answers[1]) throw new Error(`the servers disagree: ${answers.join(" vs ")}`);
}

const dataDir = mkdtempSync(join(tmpdir(), "basalt-bench-pg-"));
const db = await createBenchDatabase();
try {
  const seeded = await child("basalt", { dataDir, dbUrl: db.url, seed: true });
  const { ids, collectionId } = seeded.msg;
  await sameAnswers(dataDir, db.url, collectionId, ids);
  const results = {};
  for (const kase of ["view", "list", "create"]) {
    results[kase] = {};
    for (const role of ["bare", "basalt"]) {
      const s = await child(role, { dataDir, dbUrl: db.url, collectionId });
      try {
        results[kase][role] = await measure(s.msg.url, kase, ids);
      } finally {
        await s.stop();
      }
    }
  }
  printTable(
    `records bench on PostgreSQL: ${ROWS} rows, ${CONNECTIONS} connections, ${DURATION}s per case, node ${process.version}`,
    ["bare", "basalt"],
    results,
  );
} finally {
  await db.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
