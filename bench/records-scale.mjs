// Scale-out bench: one Basalt instance against two, each behind the same local round-robin proxy, on one
// PostgreSQL database (throwaway, dropped afterwards) and one Redis (a unique key prefix, cleared
// afterwards). Run `npm run build` first, then `node bench/records-scale.mjs` (loopback only, ~1 minute).
// Client, proxy, instances, PostgreSQL and Redis share this machine's cores: read the ratio with that in mind.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import {
  CONNECTIONS,
  child,
  clearRedisPrefix,
  createBenchDatabase,
  DURATION,
  measure,
  printTable,
  REDIS_URL,
  ROWS,
} from "./pg-kit.mjs";

const dataDir = mkdtempSync(join(tmpdir(), "basalt-bench-scale-"));
const redisPrefix = `basalt-bench-${randomBytes(4).toString("hex")}:`;
const db = await createBenchDatabase();
const running = [];
try {
  const seeded = await child("basalt", { dataDir, dbUrl: db.url, seed: true });
  const { ids } = seeded.msg;
  const instance = { dataDir, dbUrl: db.url, redisUrl: REDIS_URL, redisPrefix };
  const a = await child("basalt", instance);
  running.push(a);
  const b = await child("basalt", instance);
  running.push(b);
  const results = {};
  for (const kase of ["view", "list", "create"]) {
    results[kase] = {};
    for (const [label, upstreams] of [
      ["one", [a.msg.url]],
      ["two", [a.msg.url, b.msg.url]],
    ]) {
      const proxy = await child("proxy", { upstreams });
      try {
        results[kase][label] = await measure(proxy.msg.url, kase, ids);
      } finally {
        await proxy.stop();
      }
    }
  }
  printTable(
    `scale-out bench on PostgreSQL + Redis: ${ROWS} rows, ${CONNECTIONS} connections, ${DURATION}s per case, a round-robin proxy in front, ${cpus().length} cores shared by all, node ${process.version}`,
    ["one", "two"],
    results,
  );
} finally {
  for (const s of running) await s.stop();
  await db.drop();
  await clearRedisPrefix(redisPrefix).catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
}
