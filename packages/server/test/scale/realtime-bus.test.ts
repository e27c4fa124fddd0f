import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { IpcBus, LocalBus, type RealtimeBus, type RealtimeMessage } from "../../src/realtime/index.js";
// the class itself (the app opens it through openRedisBus, which loads ioredis on demand)
import { RedisBus } from "../../src/realtime/redis-bus.js";
import { deleteKeys, REDIS_TEST_URL, redisAvailable, uniquePrefix } from "../harness/redis.js";
import { eventually } from "../harness/sse.js";
import { ipcChannels } from "./ipc-pair.js";

// One conformance suite for every RealtimeBus (issue 6): the in-process bus, Redis pub/sub between two
// instances, and the cluster IPC bus between two workers through the primary's hub (issue 19). With the local
// bus both "instances" are the same bus.
const log = pino({ level: "silent" });
const redisUp = await redisAvailable("Redis realtime bus tests");
const prefix = uniquePrefix();
const opened: RealtimeBus[] = [];

interface Pair {
  readonly a: RealtimeBus;
  readonly b: RealtimeBus;
}

async function redisBus(extra: Partial<ConstructorParameters<typeof RedisBus>[0]> = {}): Promise<RedisBus> {
  const bus = new RedisBus({ url: REDIS_TEST_URL, prefix, log, ...extra });
  opened.push(bus);
  return bus;
}

const impls: { name: string; make: () => Promise<Pair> }[] = [
  {
    name: "local",
    make: async () => {
      const bus = new LocalBus();
      opened.push(bus);
      return { a: bus, b: bus };
    },
  },
  {
    name: "ipc",
    make: async () => {
      const [one, two] = ipcChannels(2);
      const a = new IpcBus(one, { log });
      const b = new IpcBus(two, { log });
      opened.push(a, b);
      expect(await a.waitUntilJoined(3000)).toBe(true);
      expect(await b.waitUntilJoined(3000)).toBe(true);
      return { a, b };
    },
  },
];
if (redisUp) {
  impls.push({
    name: "redis",
    make: async () => {
      const a = await redisBus();
      const b = await redisBus();
      expect(await a.waitUntilSubscribed(3000)).toBe(true);
      expect(await b.waitUntilSubscribed(3000)).toBe(true);
      return { a, b };
    },
  });
}

afterAll(async () => {
  await Promise.all(opened.map((b) => b.close()));
  if (redisUp) await deleteKeys(prefix);
});

const record = (n: number): RealtimeMessage => ({
  kind: "record",
  action: "create",
  collectionId: "pbc_1",
  record: { id: `r${n}`, n, json: { nested: [1, "two", null] }, flag: true, empty: "" },
});

describe.each(impls)("$name bus", ({ make }) => {
  it("delivers a message to the publishing instance at once and to the other instance", async () => {
    const { a, b } = await make();
    const onA: RealtimeMessage[] = [];
    const onB: RealtimeMessage[] = [];
    a.subscribe((m) => onA.push(m));
    b.subscribe((m) => onB.push(m));
    await a.publish(record(1));
    expect(onA.filter((m) => m.kind === "record")).toHaveLength(1);
    await eventually(() => onB.some((m) => m.kind === "record"));
    // plain JSON survives the trip unchanged
    expect(onB.find((m) => m.kind === "record")).toEqual(record(1));
  });

  it("keeps the publishing order and never echoes an instance's own message", async () => {
    const { a, b } = await make();
    const seenA: number[] = [];
    const seenB: number[] = [];
    a.subscribe((m) => m.kind === "record" && seenA.push(Number(m.record.n)));
    if (a !== b) b.subscribe((m) => m.kind === "record" && seenB.push(Number(m.record.n)));
    const sent = Array.from({ length: 200 }, (_, i) => i);
    for (const n of sent) void a.publish(record(n));
    if (a !== b) await eventually(() => seenB.length === sent.length);
    await new Promise((r) => setTimeout(r, 50));
    expect(seenA).toEqual(sent);
    if (a !== b) expect(seenB).toEqual(sent);
  });

  it("stops delivering to a handler once it unsubscribes, and carries control and direct messages", async () => {
    const { a, b } = await make();
    const got: RealtimeMessage[] = [];
    const off = b.subscribe((m) => got.push(m));
    const direct: RealtimeMessage = { kind: "direct", clientId: "c1", topic: "@oauth2", data: { code: "x" } };
    const control: RealtimeMessage = { kind: "control", change: "settings", origin: "someone" };
    await a.publish(direct);
    await a.publish(control);
    await eventually(() => got.length >= 2);
    expect(got.slice(0, 2)).toEqual([direct, control]);
    off();
    await a.publish(record(9));
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toHaveLength(2);
  });
});

describe.runIf(redisUp)("redis bus faults", () => {
  it("never waits on an unreachable Redis: local delivery goes on and the offline queue stays bounded", async () => {
    const bus = await redisBus({ url: "redis://127.0.0.1:1", maxQueued: 5 });
    const got: RealtimeMessage[] = [];
    bus.subscribe((m) => got.push(m));
    const started = Date.now();
    expect(await bus.waitUntilSubscribed(200)).toBe(false);
    for (let i = 0; i < 20; i++) await bus.publish(record(i));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(got).toHaveLength(20);
    expect(bus.pending).toBe(5);
  });
});

describe("ipc bus acknowledgements", () => {
  it("resolves a control message's publish only once every other worker's handler has finished", async () => {
    const [one, two, three] = ipcChannels(3);
    const buses = [new IpcBus(one, { log }), new IpcBus(two, { log }), new IpcBus(three, { log })];
    opened.push(...buses);
    for (const bus of buses) expect(await bus.waitUntilJoined(3000)).toBe(true);
    const finished: string[] = [];
    for (const [i, bus] of buses.slice(1).entries()) {
      bus.subscribe((m) => {
        if (m.kind !== "control" || m.change !== "settings") return undefined;
        return new Promise<void>((r) =>
          setTimeout(() => r(void finished.push(`worker ${i + 2}`)), 60 * (i + 1)),
        );
      });
    }
    await buses[0].publish({ kind: "control", change: "settings", origin: "a" });
    expect(finished.sort()).toEqual(["worker 2", "worker 3"]);
    // a record message is not waited for: this publish returns although the handler never finishes
    buses[1].subscribe((m) => (m.kind === "record" ? new Promise(() => undefined) : undefined));
    await buses[0].publish(record(1));
  });
});
