// Account-existence timing bench (issue 10, item 4): for request-otp, password sign-in (wrong password),
// request-password-reset and request-verification, the median latency for a known and for an unknown
// address, requests interleaved one by one so drift hits both alike, and their ratio (1.00 = no oracle).
// GET /api/health is measured alongside as the bare baseline. Runs on SQLite, and on PostgreSQL when
// BENCH_PG_URL (or the default local server) answers. Run `npm run build` first, then
// `node bench/auth-timing.mjs` (BENCH_ROUNDS, default 150; about 20 s).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { hashPassword, newTokenKey } from "../packages/server/dist/auth/index.js";
import { insertRow } from "../packages/server/dist/core/records/index.js";
import { createApp } from "../packages/server/dist/main.js";
import { newRecordId, nowDateTime } from "../packages/server/dist/util/index.js";
import { createBenchDatabase } from "./pg-kit.mjs";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 150);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(url, init) {
  const t0 = performance.now();
  const res = await fetch(url, init);
  await res.arrayBuffer();
  const ms = performance.now() - t0;
  if (res.status >= 300) throw new Error(`${url} answered ${res.status}`);
  return ms;
}

const postJson = (json) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(json),
});

async function benchStore(label, config) {
  const dataDir = mkdtempSync(join(tmpdir(), "basalt-bench-auth-"));
  const basalt = await createApp({ dataDir, http: "127.0.0.1:0", ...config }, pino({ level: "silent" }));
  try {
    const { app } = basalt;
    const users = app.collections.get("users");
    await app.collections.update("users", { otp: { ...users.otp, enabled: true } });
    const now = nowDateTime();
    await insertRow(app.db, app.collections.get("users"), {
      id: newRecordId(),
      email: "known@example.com",
      password: await hashPassword("known-password-1"),
      tokenKey: newTokenKey(),
      emailVisibility: false,
      verified: false,
      name: "",
      avatar: "",
      created: now,
      updated: now,
    });
    // deliveries are not what is measured; the log mailer would print every message
    app.mail.useMailer({ send: async () => {} });
    const url = await basalt.listen();
    const routes = [
      ["sign-in", "auth-with-password", (email) => ({ identity: email, password: "wrong-password" }), 400],
      ["request-otp", "request-otp", (email) => ({ email })],
      ["reset", "request-password-reset", (email) => ({ email })],
      ["verification", "request-verification", (email) => ({ email })],
    ];
    const health = [];
    const rows = [];
    for (const [name, path, body, expected] of routes) {
      const known = [];
      const unknown = [];
      const target = `${url}/api/collections/users/${path}`;
      const send = async (email, into) => {
        const t0 = performance.now();
        const res = await fetch(target, postJson(body(email)));
        await res.arrayBuffer();
        into.push(performance.now() - t0);
        if (res.status >= 300 && res.status !== expected) throw new Error(`${path} answered ${res.status}`);
      };
      for (let i = 0; i < ROUNDS; i++) {
        // alternate which goes first, and use fresh unknown addresses (as an enumerating attacker would)
        if (i % 2) {
          await send("known@example.com", known);
          await send(`nobody${i}@example.com`, unknown);
        } else {
          await send(`nobody${i}@example.com`, unknown);
          await send("known@example.com", known);
        }
        health.push(await timed(`${url}/api/health`));
      }
      await app.mail.idle();
      rows.push({ name, known: median(known), unknown: median(unknown) });
    }
    const base = median(health);
    console.log(`\n${label}: median latency, ${ROUNDS} interleaved pairs per route`);
    console.log(`  bare baseline GET /api/health: ${base.toFixed(2)} ms`);
    console.log("  route          known ms  unknown ms  known/unknown  known/health");
    for (const r of rows) {
      console.log(
        `  ${r.name.padEnd(14)} ${r.known.toFixed(2).padStart(8)}  ${r.unknown.toFixed(2).padStart(10)}  ${(r.known / r.unknown).toFixed(2).padStart(13)}  ${(r.known / base).toFixed(1).padStart(12)}`,
      );
    }
  } finally {
    await basalt.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await benchStore("SQLite", {});
let pgDb;
try {
  pgDb = await createBenchDatabase();
} catch (err) {
  console.log(`\nPostgreSQL skipped: ${err.message}`);
}
if (pgDb) {
  try {
    await benchStore("PostgreSQL", { dbUrl: pgDb.url });
  } finally {
    await pgDb.drop();
  }
}
