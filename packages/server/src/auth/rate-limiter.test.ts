import { describe, expect, it } from "vitest";
import { findRateLimitRule, type RateLimitRule } from "../core/settings/index.js";
import { RateLimiter } from "./rate-limiter.js";

const rule = (label: string, audience = ""): RateLimitRule => ({
  label,
  audience,
  duration: 10,
  maxRequests: 1,
});

describe("findRateLimitRule (PocketBase's label matching)", () => {
  const rules = [
    rule("/api/"),
    rule("*:create"),
    rule("users:create", "@guest"),
    rule("POST /api/collections/posts/records"),
    rule("/api/health"),
  ];
  const guest = ["", "@guest"];
  const auth = ["", "@auth"];
  const create = (c: string) => [
    `${c}:create`,
    "*:create",
    `POST /api/collections/${c}/records`,
    `/api/collections/${c}/records`,
  ];

  it("tries labels in order, exact matches before prefixes", () => {
    expect(findRateLimitRule(rules, create("users"), guest)?.label).toBe("users:create");
    expect(findRateLimitRule(rules, create("users"), auth)?.label).toBe("*:create");
    expect(findRateLimitRule(rules, ["GET /api/health", "/api/health"], guest)?.label).toBe("/api/health");
    expect(findRateLimitRule(rules, ["GET /api/realtime", "/api/realtime"], guest)?.label).toBe("/api/");
    expect(findRateLimitRule(rules, ["GET /api", "/api"], guest)?.label).toBe("/api/");
    expect(findRateLimitRule(rules, ["GET /apix", "/apix"], guest)).toBeUndefined();
    expect(findRateLimitRule([rule("*:create")], ["GET /", "/"], guest)).toBeUndefined();
  });

  it("lets a METHOD path label win over the prefix of an earlier label", () => {
    const labels = ["POST /api/collections/posts/records", "/api/collections/posts/records"];
    expect(findRateLimitRule(rules, labels, guest)?.label).toBe("POST /api/collections/posts/records");
  });
});

describe("RateLimiter", () => {
  it("allows maxRequests per window, then answers the seconds to wait", async () => {
    const limiter = new RateLimiter();
    const r = { maxRequests: 2, duration: 30 };
    expect(await limiter.hit("k", r)).toBe(0);
    expect(await limiter.hit("k", r)).toBe(0);
    const wait = await limiter.hit("k", r);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(30);
    expect(await limiter.hit("other", r)).toBe(0);
    // a rule with another window counts afresh
    expect(await limiter.hit("k", { maxRequests: 2, duration: 31 })).toBe(0);
  });

  it("counts the fixed guards with PocketBase's budgets", async () => {
    const limiter = new RateLimiter();
    for (let i = 0; i < 5; i++) expect(await limiter.consume("otpAttempts", "rec:ip")).toBe(0);
    expect(await limiter.consume("otpAttempts", "rec:ip")).toBeGreaterThan(0);
    expect(await limiter.blocked("emailResend", "x")).toBe(0);
    expect(await limiter.consume("emailResend", "x")).toBe(0);
    expect(await limiter.blocked("emailResend", "x")).toBeGreaterThan(0);
    await limiter.reset("emailResend", "x");
    expect(await limiter.blocked("emailResend", "x")).toBe(0);
  });
});
