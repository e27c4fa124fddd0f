import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type PocketBase from "pocketbase";
import type { RecordModel } from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OwnRedis, redisServerAvailable, startOwnRedis, testRedisClient } from "../harness/redis.js";
import { startServer, superuserSdk, superuserToken, type TestServer } from "../harness/server.js";
import { eventually, installEventSource } from "../harness/sse.js";

// Faults of the shared Redis (issue 6), on a redis-server of this file's own on a loopback port, killed
// and restarted: HTTP keeps working, nothing waits on the dead Redis, and delivery across instances resumes
// by itself, with a full cache reload and an SSE resync.
installEventSource();
const canRun = redisServerAvailable("Redis fault tests");
const dir = mkdtempSync(join(tmpdir(), "basalt-fault-"));
let redis: OwnRedis | undefined;
let a: TestServer;
let b: TestServer;
let suA: PocketBase;
const clients: PocketBase[] = [];

beforeAll(async () => {
  if (!canRun) return;
  redis = await startOwnRedis();
  const config = { redisUrl: redis.url, redisPrefix: "fault:" };
  a = await startServer(config, { dataDir: dir, store: "sqlite" });
  b = await startServer(config, { dataDir: dir, store: "sqlite" });
  suA = await superuserSdk(a);
  clients.push(suA);
  await suA.collections.create({
    name: "events",
    fields: [{ name: "text", type: "text" }],
    listRule: "",
    viewRule: "",
    createRule: "",
  } as never);
});

afterAll(async () => {
  for (const pb of clients) pb.realtime.unsubscribe().catch(() => undefined);
  await b?.stop();
  await a?.stop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Seen = { action: string; record: RecordModel }[];

/** An SDK subscriber to `events` that counts its (re)connections; resolves once the server holds it. */
async function subscriber(
  server: TestServer,
): Promise<{ seen: Seen; connects: () => number; pb: PocketBase }> {
  const pb = server.sdk();
  clients.push(pb);
  const seen: Seen = [];
  let connects = 0;
  await pb.realtime.subscribe("PB_CONNECT", () => connects++);
  await pb.collection("events").subscribe("*", (e) => seen.push(e));
  return { seen, connects: () => connects, pb };
}

/** True once the server holds the SDK's stream with its `events` subscription. */
function listening(server: TestServer, pb: PocketBase): boolean {
  const c = server.basalt.app.realtime.client(pb.realtime.clientId);
  return !!c && [...c.subscriptions.keys()].some((k) => k.startsWith("events"));
}

const create = (server: TestServer, text: string) =>
  server.fetch("/api/collections/events/records", { method: "POST", json: { text } });

describe.runIf(canRun)("a Redis outage", () => {
  it("keeps HTTP serving, then reconnects, resyncs and resumes delivery across instances", async () => {
    const onB = await subscriber(b);
    const onA = await subscriber(a);
    expect((await create(a, "before")).status).toBe(200);
    await eventually(() => onB.seen.some((e) => e.record.text === "before"), 3000, "delivery before");

    await redis!.stop();
    const started = Date.now();
    // writes, reads and rate-limited sign-ins answer without waiting on Redis
    expect((await create(a, "during")).status).toBe(200);
    expect((await b.fetch("/api/collections/events/records")).status).toBe(200);
    const token = await superuserToken(b);
    expect((await b.fetch("/api/health", { token })).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000);
    // this instance's own subscribers still get its events
    await eventually(() => onA.seen.some((e) => e.record.text === "during"), 3000, "local delivery");

    await redis!.start();
    // B resubscribes and asks its SSE clients to resync: the SDK reconnects and gets PB_CONNECT again
    await eventually(() => onB.connects() >= 2, 15_000, "B's clients to resync");
    await eventually(() => listening(b, onB.pb), 5000, "B's subscriber to come back");
    await eventually(() => a.basalt.app.realtime.size >= 1 && listening(a, onA.pb), 15_000, "A's subscriber");
    // A's publisher may still be reconnecting: try until a fresh event crosses over
    let n = 0;
    await eventually(
      () => {
        if (n++ % 10 === 0) void create(a, `after-${n}`);
        return onB.seen.some((e) => String(e.record.text).startsWith("after-"));
      },
      15_000,
      "delivery after the restart",
    );
  });

  it("answers requests within the command timeout while Redis hangs", async () => {
    redis!.pause();
    try {
      const started = Date.now();
      // a sign-in counts against the rate limits: the counter times out and this instance's memory counts
      const token = await superuserToken(b);
      expect((await create(a, "hung")).status).toBe(200);
      expect((await b.fetch("/api/collections/events/records", { token })).status).toBe(200);
      expect(Date.now() - started).toBeLessThan(2500);
    } finally {
      redis!.resume();
    }
  });

  it("reloads every cache after its subscription drops, even for changes it was never told of", async () => {
    await suA.settings.update({ meta: { appName: "Told" } });
    await eventually(() => b.basalt.app.settings.get().meta.appName === "Told", 3000, "the announced change");
    // a settings change written straight to the shared store: no instance announces it
    const next = a.basalt.app.settings.get();
    next.meta.appName = "Changed behind the bus";
    const sql = "UPDATE _params SET value = ? WHERE id = 'settings'";
    expect((await a.basalt.app.db.run(sql, [JSON.stringify(next)])).changes).toBe(1);
    expect(b.basalt.app.settings.get().meta.appName).not.toBe("Changed behind the bus");
    const admin = testRedisClient(redis!.url);
    try {
      await admin.connect();
      expect(await admin.call("CLIENT", "KILL", "TYPE", "pubsub")).toBeGreaterThanOrEqual(2);
    } finally {
      admin.disconnect();
    }
    await eventually(
      () => b.basalt.app.settings.get().meta.appName === "Changed behind the bus",
      10_000,
      "B's settings reload",
    );
  });
});
