import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../src/core/config.js";
import { openSharedServices } from "../../src/core/instance-sync.js";
import { LocalBus, PgBus, type RealtimeMessage } from "../../src/realtime/index.js";
import { RedisBus } from "../../src/realtime/redis-bus.js";
import { createTestDatabase, PG_ADMIN_URL, type TestDatabase } from "../harness/dialects.js";
import { REDIS_TEST_URL } from "../harness/redis.js";
import { eventually } from "../harness/sse.js";
import { postgresAvailable, terminateSessions } from "./pg-helpers.js";

// The realtime bus on PostgreSQL LISTEN/NOTIFY (issue 6), between two buses on one throwaway database: the
// same contract as the Redis bus, plus messages over NOTIFY's 8,000-byte limit and reconnection.
const log = pino({ level: "silent" });
const pgUp = await postgresAvailable("PostgreSQL realtime bus tests");
let db: TestDatabase | undefined;
const opened: PgBus[] = [];

beforeAll(async () => {
  if (pgUp) db = await createTestDatabase();
});

afterAll(async () => {
  await Promise.all(opened.map((b) => b.close()));
  await db?.drop();
});

async function bus(extra: Partial<ConstructorParameters<typeof PgBus>[0]> = {}): Promise<PgBus> {
  const b = new PgBus({ url: db!.url, prefix: "bus-test:", log, ...extra });
  opened.push(b);
  return b;
}

async function pair(): Promise<{ a: PgBus; b: PgBus }> {
  const a = await bus();
  const b = await bus();
  expect(await a.waitUntilListening(3000)).toBe(true);
  expect(await b.waitUntilListening(3000)).toBe(true);
  return { a, b };
}

const record = (n: number, text = ""): RealtimeMessage => ({
  kind: "record",
  action: "create",
  collectionId: "pbc_1",
  record: { id: `r${n}`, n, json: { nested: [1, "two", null] }, flag: true, text },
});

describe.runIf(pgUp)("postgres bus", () => {
  it("delivers a message to the publishing instance at once and to the other instance", async () => {
    const { a, b } = await pair();
    const onA: RealtimeMessage[] = [];
    const onB: RealtimeMessage[] = [];
    a.subscribe((m) => onA.push(m));
    b.subscribe((m) => onB.push(m));
    await a.publish(record(1));
    expect(onA).toEqual([record(1)]);
    await eventually(() => onB.length === 1);
    expect(onB).toEqual([record(1)]);
  });

  it("keeps the publishing order, never echoes, and carries messages far over 8,000 bytes", async () => {
    const { a, b } = await pair();
    const seenA: number[] = [];
    const seenB: RealtimeMessage[] = [];
    a.subscribe((m) => m.kind === "record" && seenA.push(Number(m.record.n)));
    b.subscribe((m) => seenB.push(m));
    // every tenth message is ~60 KB of multi-byte text: chunked, and still in order
    const large = "grüße 😀 ".repeat(6_000);
    const sent = Array.from({ length: 100 }, (_, i) => record(i, i % 10 === 5 ? large : ""));
    for (const m of sent) void a.publish(m);
    await eventually(() => seenB.length === sent.length, 5000);
    await new Promise((r) => setTimeout(r, 50));
    expect(seenA).toEqual(sent.map((_, i) => i));
    expect(seenB).toEqual(sent);
  });

  it("stops delivering to a handler once it unsubscribes, and carries control and direct messages", async () => {
    const { a, b } = await pair();
    const got: RealtimeMessage[] = [];
    const off = b.subscribe((m) => got.push(m));
    const direct: RealtimeMessage = { kind: "direct", clientId: "c1", topic: "@oauth2", data: { code: "x" } };
    const control: RealtimeMessage = { kind: "control", change: "settings", origin: "someone" };
    await a.publish(direct);
    await a.publish(control);
    await eventually(() => got.length >= 2);
    expect(got).toEqual([direct, control]);
    off();
    await a.publish(record(9));
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toHaveLength(2);
  });

  it("reconnects after its sessions are terminated, raises `reconnected` and delivers again", async () => {
    const { a, b } = await pair();
    const onB: RealtimeMessage[] = [];
    b.subscribe((m) => onB.push(m));
    expect(await terminateSessions(PG_ADMIN_URL, db!.name)).toBeGreaterThanOrEqual(2);
    await eventually(
      () => onB.some((m) => m.kind === "control" && m.change === "reconnected"),
      5000,
      "B's reconnected signal",
    );
    // A may still be reconnecting: its message waits in the offline queue and goes out once it listens
    await a.publish(record(42));
    await eventually(() => onB.some((m) => m.kind === "record"), 5000, "delivery after reconnecting");
    expect(onB.filter((m) => m.kind === "record")).toEqual([record(42)]);
  });

  it("tells whether another instance listens on the same channel", async () => {
    const alone = await bus({ prefix: "alone:" });
    expect(await alone.waitUntilListening(3000)).toBe(true);
    expect(await alone.hasPeers()).toBe(false);
    const peer = await bus({ prefix: "alone:" });
    expect(await peer.waitUntilListening(3000)).toBe(true);
    expect(await alone.hasPeers()).toBe(true);
    await peer.close();
    let peers = true;
    for (let i = 0; i < 50 && peers; i++) {
      peers = await alone.hasPeers();
      if (peers) await new Promise((r) => setTimeout(r, 20));
    }
    expect(peers).toBe(false);
  });

  it("never waits on an unreachable PostgreSQL: local delivery goes on and the offline queue stays bounded", async () => {
    const b = await bus({ url: "postgres://postgres@127.0.0.1:1/none", maxQueued: 5 });
    const got: RealtimeMessage[] = [];
    b.subscribe((m) => got.push(m));
    const started = Date.now();
    expect(await b.waitUntilListening(200)).toBe(false);
    for (let i = 0; i < 20; i++) await b.publish(record(i));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(got).toHaveLength(20);
    expect(b.pending).toBe(5);
  });
});

describe.runIf(pgUp)("the bus an instance picks", () => {
  it("is Redis with a Redis URL, LISTEN/NOTIFY on PostgreSQL without one, else in-process", async () => {
    const pick = async (dbUrl: string, redisUrl: string) => {
      const config = { ...DEFAULT_CONFIG, dbUrl, redisUrl, redisConnectTimeoutMs: 100 };
      const shared = await openSharedServices(config, log);
      await shared.close();
      return shared.bus;
    };
    expect(await pick(db!.url, REDIS_TEST_URL)).toBeInstanceOf(RedisBus);
    expect(await pick(db!.url, "")).toBeInstanceOf(PgBus);
    expect(await pick("", "")).toBeInstanceOf(LocalBus);
  });
});
