import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { IpcRateLimitStore, MemoryRateLimitStore, type RateLimitStore } from "../../src/auth/index.js";
// the class itself (the app opens it through openRedisRateLimitStore, which loads ioredis on demand)
import { RedisRateLimitStore } from "../../src/auth/rate-limit-redis-store.js";
import { deleteKeys, REDIS_TEST_URL, redisAvailable, uniquePrefix } from "../harness/redis.js";
import { ipcChannels } from "./ipc-pair.js";

// One conformance suite for every RateLimitStore (issue 6): process memory, Redis shared by two instances,
// and the primary's counters shared by two workers over IPC (issue 19). With memory both "instances" are one
// store.
const log = pino({ level: "silent" });
const redisUp = await redisAvailable("Redis rate-limit store tests");
const prefix = uniquePrefix();
const opened: RedisRateLimitStore[] = [];

function redisStore(url = REDIS_TEST_URL): RedisRateLimitStore {
  const store = new RedisRateLimitStore({ url, prefix, log });
  opened.push(store);
  return store;
}

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  if (redisUp) await deleteKeys(prefix);
});

const impls: { name: string; make: () => Promise<[RateLimitStore, RateLimitStore]> }[] = [
  {
    name: "memory",
    make: async () => {
      const s = new MemoryRateLimitStore();
      return [s, s];
    },
  },
  {
    name: "ipc",
    make: async () => {
      const [one, two] = ipcChannels(2);
      return [new IpcRateLimitStore(one, { log }), new IpcRateLimitStore(two, { log })];
    },
  },
];
if (redisUp) {
  impls.push({
    name: "redis",
    make: async () => {
      const pair: [RedisRateLimitStore, RedisRateLimitStore] = [redisStore(), redisStore()];
      for (const s of pair) expect(await s.waitUntilConnected(3000)).toBe(true);
      return pair;
    },
  });
}

let n = 0;
const key = () => `test:${Date.now()}:${n++}`;

describe.each(impls)("$name rate-limit store", ({ make }) => {
  it("counts hits in a fixed window, seen alike from every instance", async () => {
    const [a, b] = await make();
    const k = key();
    const before = Date.now();
    const first = await a.hit(k, 60_000);
    expect(first.count).toBe(1);
    expect(first.resetAt).toBeGreaterThan(before + 59_000);
    expect(first.resetAt).toBeLessThanOrEqual(Date.now() + 60_000);
    expect((await b.hit(k, 60_000)).count).toBe(2);
    expect((await a.peek(k))?.count).toBe(2);
    expect((await b.peek(k))?.count).toBe(2);
  });

  it("peeks without counting, and forgets a key on reset", async () => {
    const [a, b] = await make();
    const k = key();
    expect(await a.peek(k)).toBeNull();
    await a.hit(k, 60_000);
    await a.hit(k, 60_000);
    expect((await b.peek(k))?.count).toBe(2);
    expect((await b.peek(k))?.count).toBe(2);
    await b.reset(k);
    expect(await a.peek(k)).toBeNull();
    expect((await a.hit(k, 60_000)).count).toBe(1);
  });

  it("starts a new window once the old one ends", async () => {
    const [a] = await make();
    const k = key();
    await a.hit(k, 80);
    await a.hit(k, 80);
    await new Promise((r) => setTimeout(r, 150));
    expect(await a.peek(k)).toBeNull();
    expect((await a.hit(k, 80)).count).toBe(1);
  });

  it("counts concurrent hits exactly", async () => {
    const [a, b] = await make();
    const k = key();
    const all = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).hit(k, 60_000)));
    expect(all.map((w) => w.count).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
  });
});

describe.runIf(redisUp)("redis rate-limit store faults", () => {
  it("answers at once from this instance's memory when Redis is unreachable", async () => {
    const store = redisStore("redis://127.0.0.1:1");
    const k = key();
    const started = Date.now();
    expect((await store.hit(k, 60_000)).count).toBe(1);
    expect((await store.hit(k, 60_000)).count).toBe(2);
    expect((await store.peek(k))?.count).toBe(2);
    await store.reset(k);
    expect(await store.peek(k)).toBeNull();
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
