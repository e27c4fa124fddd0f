import { existsSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import type PocketBase from "pocketbase";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LogsService } from "../../src/observability/index.js";
import { formatDateTime } from "../../src/util/index.js";
import { SUPERUSER, startServer, superuserSdk, superuserToken, type TestServer } from "../harness/server.js";

let server: TestServer;
let pb: PocketBase;
let token = "";

const setLogs = async (logs: Record<string, unknown>) => {
  const res = await server.fetch("/api/settings", { method: "PATCH", token, json: { logs } });
  expect(res.status).toBe(200);
};

beforeAll(async () => {
  server = await startServer();
  token = await superuserToken(server);
  pb = await superuserSdk(server);
});
afterAll(() => server.stop());
beforeEach(async () => {
  await setLogs({ maxDays: 5, minLevel: 0, logIP: true, logAuthId: false });
  await server.fetch("/api/logs", { method: "DELETE", token });
});

describe("request logs", () => {
  it("stores requests in PocketBase's shape, read back with pb.logs", async () => {
    if (server.store === "sqlite") expect(existsSync(join(server.dataDir, "auxiliary.db"))).toBe(true);
    await server.fetch("/api/health", {
      headers: { "user-agent": "log-test/1", referer: "http://app.test/p" },
    });
    await server.fetch("/api/collections/nope/records");
    await server.basalt.app.logs.flush();

    const list = await pb.logs.getList(1, 50, { sort: "-created" });
    expect(list.totalItems).toBe(2);
    const health = list.items.find((l) => l.data.url === "/api/health")!;
    expect(health).toMatchObject({
      level: 0,
      message: "GET /api/health",
      data: {
        type: "request",
        method: "GET",
        status: 200,
        auth: "",
        userAgent: "log-test/1",
        referer: "http://app.test/p",
        userIP: "127.0.0.1",
      },
    });
    expect(health.created).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(typeof health.data.execTime).toBe("number");
    const missing = list.items.find((l) => l.data.status === 404)!;
    expect(missing.level).toBe(8);
    expect(missing.data.error).toBe("Missing collection context.");

    const one = await pb.logs.getOne(health.id);
    expect(one).toEqual(health);
    await expect(pb.logs.getOne("nosuchlogentry1")).rejects.toMatchObject({ status: 404 });

    const errors = await pb.logs.getList(1, 10, { filter: "data.status >= 400 && level = 8" });
    expect(errors.items.map((l) => l.id)).toEqual([missing.id]);
    const byUrl = await pb.logs.getList(1, 10, { filter: 'data.url ~ "health" && data.auth = ""' });
    expect(byUrl.items.map((l) => l.id)).toEqual([health.id]);

    const stats = await pb.logs.getStats();
    expect(stats).toHaveLength(1);
    expect(stats[0].total).toBe(2);
    expect(stats[0].date).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:00:00\.000Z$/);
    expect(await pb.logs.getStats({ filter: "data.status = 404" })).toEqual([{ ...stats[0], total: 1 }]);
  });

  it("is for superusers only, refuses bad filters and does not log its own reads", async () => {
    const user = server.sdk();
    await expect(user.logs.getList()).rejects.toMatchObject({ status: 401 });
    await expect(user.logs.getStats()).rejects.toMatchObject({ status: 401 });
    expect((await server.fetch("/api/logs", { method: "DELETE" })).status).toBe(401);
    await server.basalt.app.logs.flush();
    await server.fetch("/api/logs", { method: "DELETE", token });

    await pb.logs.getList(1, 10);
    await pb.logs.getStats();
    for (const filter of ["secret = 1", "data.x = (", "id = @request.auth.id || password != ''"]) {
      await expect(pb.logs.getList(1, 10, { filter }), filter).rejects.toMatchObject({ status: 400 });
    }
    await expect(pb.logs.getStats({ filter: "nope ~ 1" })).rejects.toMatchObject({ status: 400 });
    await expect(pb.logs.getList(1, 10, { sort: "password" })).rejects.toMatchObject({ status: 400 });
    await server.basalt.app.logs.flush();
    const rows = await server.basalt.app.logs.store.list({
      filter: "",
      sort: "",
      page: 1,
      perPage: 100,
      skipTotal: false,
    });
    // only the failed reads are logged, as PocketBase's logs routes do
    expect(rows.items.length).toBe(5);
    expect(rows.items.every((r) => (r.data.status as number) >= 400)).toBe(true);
  });

  it("never stores credentials", async () => {
    await setLogs({ logAuthId: true });
    const secret = "Sup3rSecretValue";
    await server.fetch(`/api/files/c/r/a.png?thumb=10x10&token=${secret}`);
    await server.fetch(`/api/oauth2-redirect?code=${secret}&state=x`, {
      headers: { cookie: `session=${secret}`, referer: `http://app.test/?token=${secret}` },
    });
    await server.fetch("/api/collections/_superusers/auth-with-password", {
      method: "POST",
      json: { identity: SUPERUSER.email, password: secret },
    });
    await server.fetch("/api/collections/_superusers/auth-with-password", {
      method: "POST",
      json: { identity: SUPERUSER.email, password: SUPERUSER.password },
    });
    await server.fetch("/api/health", { token: `Bearer ${token}` });
    server.basalt.app.logger.warn("payment", { password: secret, nested: { apiKey: secret, ok: 1 } });
    await server.basalt.app.logs.flush();
    const all = (await pb.logs.getList(1, 500, { sort: "created" })).items;
    // the settings change, five requests (the redirect followed to the dashboard) and the app entry
    expect(all.map((l) => l.message)).toEqual([
      "PATCH /api/settings",
      "GET /api/files/c/r/a.png?thumb=10x10&token=[redacted]",
      "GET /api/oauth2-redirect?code=[redacted]&state=x",
      "GET /_/",
      "POST /api/collections/_superusers/auth-with-password",
      "POST /api/collections/_superusers/auth-with-password",
      "GET /api/health",
      "payment",
    ]);
    const text = JSON.stringify(all);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(token);
    expect(text).toContain("token=[redacted]");
    const health = all.find((l) => l.data.url === "/api/health")!;
    expect(health.data).toMatchObject({ auth: "_superusers" });
    expect(typeof health.data.authId).toBe("string");
    const app = all.find((l) => l.message === "payment")!;
    expect(app).toMatchObject({
      level: 4,
      data: { password: "[redacted]", nested: { apiKey: "[redacted]", ok: 1 } },
    });
  });

  it("follows logIP, logAuthId, minLevel and maxDays", async () => {
    await setLogs({ logIP: false, logAuthId: false, minLevel: 4 });
    await server.fetch("/api/health", { token });
    await server.fetch("/api/collections/nope/records", { token });
    server.basalt.app.logger.info("below the minimum");
    server.basalt.app.logger.error("kept", { n: 1 });
    await server.basalt.app.logs.flush();
    let all = (await pb.logs.getList(1, 500)).items;
    expect(all.map((l) => l.message).sort()).toEqual(["GET /api/collections/nope/records", "kept"]);
    const failed = all.find((l) => l.data.type === "request")!;
    expect(failed.data.userIP).toBeUndefined();
    expect(failed.data.authId).toBeUndefined();
    expect(failed.data.auth).toBe("_superusers");

    await setLogs({ minLevel: -4 });
    server.basalt.app.logger.debug("now kept");
    await server.basalt.app.logs.flush();
    expect((await pb.logs.getList(1, 10, { filter: 'message = "now kept" && level = -4' })).totalItems).toBe(
      1,
    );

    // maxDays 0 turns logging off
    await setLogs({ maxDays: 0 });
    await server.fetch("/api/collections/nope/records");
    await server.basalt.app.logs.flush();
    all = (await pb.logs.getList(1, 500)).items;
    // the two kept above, "now kept" and the PATCH that lowered minLevel; nothing after maxDays 0
    expect(all.length).toBe(4);

    // entries older than maxDays go when the cleanup runs (hourly, and at each start)
    await setLogs({ maxDays: 2 });
    const old = (days: number) => formatDateTime(new Date(Date.now() - days * 86_400_000));
    await server.basalt.app.logs.store.insert([
      { id: "oldlogentry0001", created: old(3), level: 0, message: "old", data: {} },
      { id: "oldlogentry0002", created: old(1), level: 0, message: "recent", data: {} },
    ]);
    expect(await server.basalt.app.logs.cleanup()).toBe(1);
    await expect(pb.logs.getOne("oldlogentry0001")).rejects.toMatchObject({ status: 404 });
    expect((await pb.logs.getOne("oldlogentry0002")).message).toBe("recent");
    expect(
      (await server.fetch("/api/settings", { method: "PATCH", token, json: { logs: { minLevel: 101 } } }))
        .status,
    ).toBe(400);
  });

  it("bounds the buffer: a flood is dropped and counted, never queued without limit", async () => {
    const logs = new LogsService(
      server.basalt.app.logs.store,
      () => server.basalt.app.settings.logs,
      pino({ level: "silent" }),
      {
        maxBuffered: 5,
        batchSize: 1000,
        flushMs: 60_000,
      },
    );
    for (let i = 0; i < 20; i++) logs.add(0, `flood ${i}`, {});
    expect(logs.buffered).toBe(5);
    expect(logs.dropped).toBe(15);
    await logs.flush();
    expect(logs.written).toBe(5);
    expect((await pb.logs.getList(1, 1, { filter: 'message ~ "flood"' })).totalItems).toBe(5);
  });

  it("writes batches on its own, and DELETE /api/logs clears them", async () => {
    await server.fetch("/api/health");
    // the writer's timer writes the batch without anyone flushing
    for (let i = 0; i < 100; i++) {
      if ((await pb.logs.getList(1, 1)).totalItems > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await pb.logs.getList(1, 1)).totalItems).toBe(1);
    expect((await server.fetch("/api/logs", { method: "DELETE", token })).status).toBe(204);
    expect((await pb.logs.getList(1, 1)).totalItems).toBe(0);
  });
});
