import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.js";

describe("backoffDelay", () => {
  it("doubles per attempt within [half, full] of the step", () => {
    expect(backoffDelay(1, { baseMs: 1000 }, () => 0)).toBe(500);
    expect(backoffDelay(1, { baseMs: 1000 }, () => 1)).toBe(1000);
    expect(backoffDelay(3, { baseMs: 1000 }, () => 0)).toBe(2000);
    expect(backoffDelay(3, { baseMs: 1000 }, () => 1)).toBe(4000);
  });

  it("is capped and never overflows", () => {
    expect(backoffDelay(500, { baseMs: 1000, maxMs: 60_000 }, () => 1)).toBe(60_000);
    expect(backoffDelay(500, { baseMs: 1000, maxMs: 60_000 }, () => 0)).toBe(30_000);
  });

  it("spreads workers that failed together", () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(4, { baseMs: 1000 })));
    expect(delays.size).toBeGreaterThan(10);
  });
});
