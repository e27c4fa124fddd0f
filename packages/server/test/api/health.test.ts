import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisServerAvailable, startOwnRedis, uniquePrefix } from "../harness/redis.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

describe("GET /api/health", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  it("answers everyone as PocketBase does", async () => {
    const res = await server.fetch("/api/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ code: 200, message: "API is healthy.", data: {} });
    expect(await server.sdk().health.check()).toEqual({ code: 200, message: "API is healthy.", data: {} });
  });

  it("shows superusers the state of the database, storage and queue", async () => {
    await server.basalt.app.jobs.enqueue("health-demo", { n: 1 });
    const pb = await superuserSdk(server);
    const { data } = await pb.health.check();
    expect(data).toMatchObject({
      canBackup: true,
      realIP: "127.0.0.1",
      possibleProxyHeader: "",
      database: { ok: true, type: server.store === "postgres" ? "postgres" : "sqlite" },
      storage: { ok: true, type: "local" },
      queue: { ok: true, queues: { "health-demo": { pending: 1 } } },
      logs: { dropped: 0 },
    });
    expect(typeof data.database.latencyMs).toBe("number");
    expect(data.redis).toBeUndefined();
  });
});

describe.runIf(redisServerAvailable("health with Redis"))("GET /api/health with Redis", () => {
  it("reports Redis, and its outage, to superusers only", async () => {
    const redis = await startOwnRedis();
    const server = await startServer({ redisUrl: redis.url, redisPrefix: uniquePrefix() });
    try {
      const pb = await superuserSdk(server);
      expect((await pb.health.check()).data.redis).toMatchObject({ ok: true });
      await redis.stop();
      const down = (await pb.health.check()).data.redis;
      expect(down.ok).toBe(false);
      expect(typeof down.error).toBe("string");
      // the public answer stays PocketBase's
      expect(await server.sdk().health.check()).toEqual({ code: 200, message: "API is healthy.", data: {} });
    } finally {
      await server.stop();
      await redis.stop();
    }
  });
});
