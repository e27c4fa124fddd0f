import type { ClientResponseError } from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordEvent } from "../../src/core/events.js";
import { type Blog, setupBlog } from "../harness/fixtures/blog.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";

let server: TestServer;
let blog: Blog;
let su = "";
const events: RecordEvent[] = [];

async function count(table: string): Promise<number> {
  const row = await server.basalt.app.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM "${table}"`);
  return Number(row?.n);
}

beforeAll(async () => {
  server = await startServer();
  blog = await setupBlog(server);
  su = await superuserToken(server);
  server.basalt.app.events.on("record", (e) => events.push(e));
});
afterAll(() => server.stop());

describe("settings", () => {
  it("GET/PATCH /api/settings for superusers only, in PocketBase's shape, persisted", async () => {
    const s = await blog.admin.settings.getAll();
    expect(s.batch).toEqual({ enabled: false, maxRequests: 50, timeout: 3, maxBodySize: 0 });
    expect(s.meta).toMatchObject({ appName: expect.any(String), hideControls: false });
    expect(s.rateLimits).toMatchObject({ enabled: false, rules: expect.any(Array) });
    expect(s.trustedProxy).toEqual({ headers: [], useLeftmostIP: false });
    expect((await server.fetch("/api/settings", { token: blog.aliceToken })).status).toBe(403);
    expect((await server.fetch("/api/settings")).status).toBe(401);
    const bad = await server.fetch("/api/settings", {
      method: "PATCH",
      token: su,
      json: { batch: { maxRequests: -1 } },
    });
    expect(bad.status).toBe(400);
    expect(
      ((await bad.json()) as { data: { batch: { maxRequests: { code: string } } } }).data.batch.maxRequests
        .code,
    ).toBe("validation_invalid_value");
    const row = await server.basalt.app.db.get<{ value: string }>(
      "SELECT value FROM _params WHERE id = 'settings'",
    );
    expect(row).toBeUndefined();
  });
});

describe("POST /api/batch", () => {
  it("is refused (403) until enabled in the settings", async () => {
    const batch = blog.admin.createBatch();
    batch.collection("tags").create({ label: "x" });
    await expect(batch.send()).rejects.toMatchObject({ status: 403 });
    await blog.admin.settings.update({ batch: { enabled: true, maxRequests: 3 } });
    const row = await server.basalt.app.db.get<{ value: string }>(
      "SELECT value FROM _params WHERE id = 'settings'",
    );
    expect(JSON.parse(String(row?.value)).batch).toMatchObject({ enabled: true, maxRequests: 3 });
  });

  it("runs create/update/upsert/delete in one transaction and answers [{body, status}]", async () => {
    const existing = await blog.admin.collection("tags").create({ label: "old" });
    const batch = blog.admin.createBatch();
    batch.collection("tags").create({ label: "b1" });
    batch.collection("tags").update(existing.id, { label: "old2" });
    batch.collection("tags").upsert({ id: "upsertedtag0001", label: "b2" });
    const res = await batch.send();
    expect(res.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(res[0].body).toMatchObject({ label: "b1", collectionName: "tags" });
    expect(res[2].body).toMatchObject({ id: "upsertedtag0001", label: "b2" });
    const raw = await server.fetch("/api/batch", {
      method: "POST",
      token: su,
      json: {
        requests: [
          { method: "DELETE", url: "/api/collections/tags/records/upsertedtag0001" },
          {
            method: "PUT",
            url: `/api/collections/tags/records?fields=label`,
            body: { id: existing.id, label: "old3" },
          },
        ],
      },
    });
    expect(raw.status).toBe(200);
    expect(await raw.json()).toEqual([
      { body: null, status: 204 },
      { body: { label: "old3" }, status: 200 },
    ]);
  });

  it("is all or nothing: a failing item rolls back the others, emits nothing, and says which failed", async () => {
    const before = await count("tags");
    events.length = 0;
    const batch = blog.admin.createBatch();
    batch.collection("tags").create({ label: "rolled-back-1" });
    batch.collection("tags").create({ label: "" });
    let err: ClientResponseError | undefined;
    try {
      await batch.send();
    } catch (e) {
      err = e as ClientResponseError;
    }
    expect(err?.status).toBe(400);
    expect(err?.response).toMatchObject({
      message: "Batch transaction failed.",
      data: {
        requests: {
          "1": {
            code: "batch_request_failed",
            response: { status: 400, data: { label: { code: "validation_required" } } },
          },
        },
      },
    });
    expect(await count("tags")).toBe(before);
    expect(events).toHaveLength(0);
  });

  it("checks each item's rules for the caller (context batch)", async () => {
    const before = await count("posts");
    const batch = blog.bob.createBatch();
    batch.collection("posts").create({ title: "Bob ok", author: blog.bobId });
    batch.collection("posts").create({ title: "Forged", author: blog.aliceId });
    await expect(batch.send()).rejects.toMatchObject({ status: 400 });
    expect(await count("posts")).toBe(before);
    const ok = blog.bob.createBatch();
    ok.collection("posts").create({ title: "Bob ok", author: blog.bobId });
    const [r] = await ok.send();
    expect(r.status).toBe(200);
  });

  it("enforces maxRequests, refuses unknown actions and malformed bodies", async () => {
    const many = {
      requests: Array.from({ length: 4 }, (_, i) => ({
        method: "POST",
        url: "/api/collections/tags/records",
        body: { label: `m${i}` },
      })),
    };
    const tooMany = await server.fetch("/api/batch", { method: "POST", token: su, json: many });
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({
      message: "Invalid batch request data.",
      data: { requests: { code: "validation_length_too_long" } },
    });
    const unknown = await server.fetch("/api/batch", {
      method: "POST",
      token: su,
      json: { requests: [{ method: "GET", url: "/api/collections/tags/records" }] },
    });
    expect(unknown.status).toBe(400);
    expect(
      ((await unknown.json()) as { data: { requests: Record<string, { code: string }> } }).data.requests["0"]
        .code,
    ).toBe("batch_request_failed");
    for (const json of [{ requests: [] }, { requests: "x" }, "[1]"]) {
      expect((await server.fetch("/api/batch", { method: "POST", token: su, json })).status).toBe(400);
    }
    expect(await count("tags")).toBeGreaterThan(0);
  });
});
