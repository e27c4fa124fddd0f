import { describe, expect, it } from "vitest";
import { MemoryRateLimitStore } from "./rate-limit-store.js";
import { RateLimiter } from "./rate-limiter.js";

describe("RateLimiter", () => {
  it("allows max hits per window, then answers the seconds to wait", async () => {
    const limiter = new RateLimiter();
    limiter.configure({ signInPerIp: { max: 2, seconds: 30 } });
    expect(await limiter.consume("signInPerIp", "1.2.3.4")).toBe(0);
    expect(await limiter.consume("signInPerIp", "1.2.3.4")).toBe(0);
    const wait = await limiter.consume("signInPerIp", "1.2.3.4");
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(30);
    expect(await limiter.consume("signInPerIp", "5.6.7.8")).toBe(0);
  });

  it("peeks without counting and forgets a key on reset", async () => {
    const limiter = new RateLimiter();
    limiter.configure({ signInFailuresPerIdentity: { max: 1, seconds: 60 } });
    expect(await limiter.blocked("signInFailuresPerIdentity", "a")).toBe(0);
    await limiter.consume("signInFailuresPerIdentity", "a");
    expect(await limiter.blocked("signInFailuresPerIdentity", "a")).toBeGreaterThan(0);
    await limiter.reset("signInFailuresPerIdentity", "a");
    expect(await limiter.blocked("signInFailuresPerIdentity", "a")).toBe(0);
  });

  it("starts a new window once the old one ends, and keeps memory bounded", async () => {
    let now = 1_000_000;
    const store = new MemoryRateLimitStore(() => now, 10);
    expect((await store.hit("k", 1000)).count).toBe(1);
    expect((await store.hit("k", 1000)).count).toBe(2);
    now += 1000;
    expect((await store.hit("k", 1000)).count).toBe(1);
    for (let i = 0; i < 50; i++) await store.hit(`key-${i}`, 60_000);
    expect(await store.peek("key-0")).toBeNull();
    expect(await store.peek("key-49")).not.toBeNull();
  });
});
