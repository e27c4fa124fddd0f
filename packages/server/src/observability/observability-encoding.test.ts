import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { BucketHistogram } from "./bucket-histogram.js";
import { IdPool, prepareEntry } from "./log-entry.js";
import { LogsService } from "./logs-service.js";

describe("BucketHistogram", () => {
  it("renders cumulative buckets, +Inf, sum and count per series in Prometheus text", async () => {
    const registry = new Registry();
    const h = new BucketHistogram(registry, "t_seconds", "Test.", [0.1, 1, 10]);
    const a = h.createSeries({ route: "/a" });
    const b = h.createSeries({ route: "/b" });
    for (const v of [0.05, 0.1, 0.5, 2, 20]) a.observe(v);
    b.observe(3);
    const text = await registry.metrics();
    expect(text).toContain("# TYPE t_seconds histogram");
    expect(text).toContain('t_seconds_bucket{route="/a",le="0.1"} 2');
    expect(text).toContain('t_seconds_bucket{route="/a",le="1"} 3');
    expect(text).toContain('t_seconds_bucket{route="/a",le="10"} 4');
    expect(text).toContain('t_seconds_bucket{route="/a",le="+Inf"} 5');
    expect(text).toContain('t_seconds_count{route="/a"} 5');
    expect(text).toContain('t_seconds_sum{route="/a"} 22.65');
    expect(text).toContain('t_seconds_bucket{route="/b",le="1"} 0');
    expect(text).toContain('t_seconds_bucket{route="/b",le="10"} 1');
  });
});

/** Request-log fields that reach the stored entry unchanged. */
const SAME = {
  status: 400,
  execTime: 1.5,
  userAgent: 'agent "quoted"\n',
  auth: "users",
  authId: "u1",
  apiKey: "k1",
  userIP: "10.0.0.1",
  remoteIP: "127.0.0.1",
  error: "Failed.",
};

describe("request log entries", () => {
  const queued = (settings: { logIP: boolean; logAuthId: boolean }) => {
    const service = new LogsService(
      {} as never,
      () => ({ maxDays: 5, minLevel: 0, ...settings }),
      {} as never,
    );
    service.request({
      method: "POST",
      url: "/api/files/c/r/a.png?token=abc&x=%20y",
      ...SAME,
      referer: "https://example.test/?code=123",
      details: { password: { code: "x", message: "bad" }, big: 1n },
    });
    return (service as unknown as { buffer: unknown[] }).buffer[0];
  };

  it("keep every field through the queue, redacted when prepared", () => {
    const row = prepareEntry(queued({ logIP: true, logAuthId: true }) as string, new IdPool());
    expect(row.level).toBe(8);
    expect(row.message).toBe("POST /api/files/c/r/a.png?token=[redacted]&x= y");
    expect(row.data).toMatchObject({
      type: "request",
      method: "POST",
      ...SAME,
      referer: "https://example.test/?code=[redacted]",
    });
    // details a JSON text cannot hold (a BigInt) are left out rather than failing the entry
    expect(row.data.details).toEqual({});
  });

  it("leave out the auth id and addresses when the settings say so", () => {
    const row = prepareEntry(queued({ logIP: false, logAuthId: false }) as string, new IdPool());
    expect(row.data).not.toHaveProperty("authId");
    expect(row.data).not.toHaveProperty("userIP");
    expect(row.data).not.toHaveProperty("remoteIP");
  });

  it("get ids that grow with time, 15 characters of [a-z0-9]", () => {
    const ids = new IdPool();
    const a = ids.next(Date.UTC(2026, 0, 1));
    const b = ids.next(Date.UTC(2026, 0, 1) + 1);
    expect(a).toMatch(/^[a-z0-9]{15}$/);
    expect(b > a).toBe(true);
  });
});
