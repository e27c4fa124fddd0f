import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type PocketBase from "pocketbase";
import type { RecordModel } from "pocketbase";
import { afterAll, describe, expect, it } from "vitest";
import { createTestDatabase, PG_ADMIN_URL, type TestDatabase } from "../harness/dialects.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";
import { eventually, installEventSource } from "../harness/sse.js";
import {
  type OwnPostgres,
  ownPostgresProblem,
  postgresAvailable,
  sql,
  startOwnPostgres,
  terminateSessions,
} from "./pg-helpers.js";

// PostgreSQL going away under load (issue 6): requests during the outage answer 503 in PocketBase's error
// shape (never 500, never hanging), the instances reconnect by themselves, and every write that was
// acknowledged is there afterwards. Two outages: a private server restarted (stopped like a crash, then
// started), and every session of the shared test server's database terminated again and again.
installEventSource();
const pgUp = await postgresAvailable("PostgreSQL fault tests");
const ownProblem = pgUp ? ownPostgresProblem() : "PostgreSQL unreachable";
if (pgUp && ownProblem)
  console.warn(`\n  PostgreSQL restart test SKIPPED: ${ownProblem}; the terminate test still runs.\n`);
const cleanups: (() => Promise<void>)[] = [];
const clients: PocketBase[] = [];
/** The longest a request may take during an outage: the pool refuses at once, nothing waits on a timeout. */
const BOUND_MS = 5_000;

afterAll(async () => {
  for (const pb of clients) pb.realtime.unsubscribe().catch(() => undefined);
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
});

/** Starts instances on one database with a public `events` collection. */
async function instances(dbUrl: string, n: number): Promise<TestServer[]> {
  const out: TestServer[] = [];
  for (let i = 0; i < n; i++) {
    const dir = mkdtempSync(join(tmpdir(), "basalt-pgfault-"));
    const s = await startServer({ dbUrl, dbMaxConnections: 5 }, { dataDir: dir, store: "postgres" });
    cleanups.push(async () => {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    out.push(s);
  }
  const su = await superuserSdk(out[0]);
  await su.collections.create({
    name: "events",
    fields: [{ name: "text", type: "text" }],
    listRule: "",
    viewRule: "",
    createRule: "",
  } as never);
  for (const s of out) await eventually(() => !!s.basalt.app.collections.find("events"), 3000, "events");
  return out;
}

interface Answer {
  readonly status: number;
  readonly ms: number;
  readonly body: unknown;
}

/** Writers that create records through the servers in turn until stopped; collects every answer. */
function load(servers: TestServer[], writers = 4): { answers: Answer[]; stop: () => Promise<void> } {
  const answers: Answer[] = [];
  let running = true;
  let n = 0;
  const writer = async () => {
    while (running) {
      const server = servers[n % servers.length];
      const text = `w-${n++}`;
      const started = Date.now();
      let status = 0;
      let body: unknown;
      try {
        const res = await server.fetch("/api/collections/events/records", {
          method: "POST",
          json: { text },
          signal: AbortSignal.timeout(BOUND_MS * 2),
        });
        status = res.status;
        body = await res.json();
      } catch (err) {
        body = String(err);
      }
      answers.push({ status, ms: Date.now() - started, body });
      if (status !== 200) await new Promise((r) => setTimeout(r, 10));
    }
  };
  const done = Promise.all(Array.from({ length: writers }, writer));
  return {
    answers,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** Checks the answers of an outage and that every acknowledged write is stored. */
async function checkOutcome(server: TestServer, answers: Answer[]): Promise<void> {
  const statuses = new Set(answers.map((a) => a.status));
  const odd = answers.filter((a) => a.status !== 200 && a.status !== 503);
  expect(odd.slice(0, 3)).toEqual([]);
  expect(statuses.has(503)).toBe(true);
  for (const a of answers.filter((x) => x.status === 503))
    expect(a.body).toEqual({ status: 503, message: expect.any(String), data: {} });
  expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(BOUND_MS);
  const acked = answers.filter((a) => a.status === 200).map((a) => (a.body as { id: string }).id);
  expect(acked.length).toBeGreaterThan(0);
  const stored = await server.sdk().collection("events").getFullList({ fields: "id", batch: 1000 });
  const ids = new Set(stored.map((r) => r.id));
  expect(acked.filter((id) => !ids.has(id))).toEqual([]);
}

/** An SDK subscriber to `events` that counts its (re)connections. */
async function subscriber(server: TestServer) {
  const pb = server.sdk();
  clients.push(pb);
  const seen: RecordModel[] = [];
  let connects = 0;
  await pb.realtime.subscribe("PB_CONNECT", () => connects++);
  await pb.collection("events").subscribe("*", (e) => seen.push(e.record));
  return { seen, connects: () => connects };
}

describe.runIf(pgUp && !ownProblem)("a PostgreSQL restart under load", () => {
  it("answers 503 while it is down, then serves again by itself and keeps every acknowledged write", async () => {
    const own: OwnPostgres = await startOwnPostgres();
    cleanups.push(() => own.destroy());
    await sql(own.url, 'CREATE DATABASE "basalt_fault"');
    const [a, b] = await instances(own.url.replace(/\/postgres$/, "/basalt_fault"), 2);
    const onB = await subscriber(b);

    const writes = load([a, b]);
    await eventually(() => writes.answers.some((x) => x.status === 200), 3000, "writes before");
    await own.stop();
    const down = Date.now();
    await eventually(() => writes.answers.filter((x) => x.status === 503).length >= 8, 5000, "503s");
    // down for at least 800 ms: every writer meets the outage many times
    await new Promise((r) => setTimeout(r, Math.max(0, down + 800 - Date.now())));
    await own.start();
    const restarted = writes.answers.length;
    await eventually(
      () => writes.answers.slice(restarted).filter((x) => x.status === 200).length >= 8,
      15_000,
      "writes after the restart",
    );
    await writes.stop();
    await checkOutcome(a, writes.answers);

    // B's bus listens again and asks its SSE clients to resync; A's events reach B's subscriber again
    await eventually(() => onB.connects() >= 2, 15_000, "B's clients to resync");
    let n = 0;
    await eventually(
      () => {
        if (n++ % 10 === 0)
          void a.fetch("/api/collections/events/records", { method: "POST", json: { text: "after" } });
        return onB.seen.some((r) => r.text === "after");
      },
      15_000,
      "delivery after the restart",
    );
  });
});

describe.runIf(pgUp)("the database's sessions terminated again and again under load", () => {
  it("answers 503 or 200, never 500, reconnects by itself and keeps every acknowledged write", async () => {
    const db: TestDatabase = await createTestDatabase();
    cleanups.push(() => db.drop());
    const [a] = await instances(db.url, 1);
    const writes = load([a]);
    await eventually(() => writes.answers.some((x) => x.status === 200), 3000, "writes before");
    let terminated = 0;
    const started = Date.now();
    const outage = () => writes.answers.filter((x) => x.status === 503).length;
    // at least 1.5 s, and until a few requests met the outage (at most 6 s)
    while (Date.now() - started < 1500 || (outage() < 5 && Date.now() - started < 6000)) {
      terminated += await terminateSessions(PG_ADMIN_URL, db.name);
      await new Promise((r) => setTimeout(r, 20));
    }
    const after = writes.answers.length;
    await eventually(
      () => writes.answers.slice(after).filter((x) => x.status === 200).length >= 8,
      10_000,
      "writes after the outage",
    );
    await writes.stop();
    expect(terminated).toBeGreaterThan(0);
    await checkOutcome(a, writes.answers);
    expect((await a.fetch("/api/health")).status).toBe(200);
  });
});
