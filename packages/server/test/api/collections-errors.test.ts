import type PocketBase from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

// Issue 11, item 7: collection errors as PocketBase's.

let server: TestServer;
let su: PocketBase;
beforeAll(async () => {
  server = await startServer();
  su = await superuserSdk(server);
  await su.collections.create({ name: "posts", fields: [{ name: "title", type: "text" }] });
});
afterAll(() => server.stop());

const send = (method: string, path: string, json: unknown) =>
  server.fetch(path, { method, json, token: su.authStore.token });

describe("collection errors", () => {
  it("name a taken name under data.name, whatever its case", async () => {
    for (const name of ["posts", "POSTS"]) {
      const res = await send("POST", "/api/collections", { name, type: "base", fields: [] });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { data: Record<string, { code: string }> };
      expect(body.data.name?.code).toBe("validation_collection_name_exists");
    }
  });

  it("refuse the old `schema` format with a clear message instead of creating a collection without fields", async () => {
    const res = await send("POST", "/api/collections", {
      name: "legacy",
      type: "base",
      schema: [{ name: "title", type: "text" }],
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { data: Record<string, { code: string; message: string }> };
    expect(body.data.schema?.code).toBe("validation_schema_legacy");
    expect(body.data.schema?.message).toContain('"fields"');
    expect((await send("GET", "/api/collections/legacy", undefined)).status).toBe(404);
    const update = await send("PATCH", "/api/collections/posts", { schema: [{ name: "x", type: "text" }] });
    expect(update.status).toBe(400);
    const imported = await send("PUT", "/api/collections/import", {
      collections: [{ name: "legacy2", type: "base", schema: [{ name: "title", type: "text" }] }],
    });
    expect(imported.status).toBe(400);
    expect((await send("GET", "/api/collections/legacy2", undefined)).status).toBe(404);
  });
});
