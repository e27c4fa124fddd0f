import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, superuserSdk, superuserToken, type TestServer } from "../harness/server.js";

let server: TestServer;
let itemsId = "";
beforeAll(async () => {
  server = await startServer();
  const su = await superuserSdk(server);
  const c = await su.collections.create({
    name: "catalog",
    fields: [
      { name: "title", type: "text" },
      { name: "active", type: "bool" },
    ],
    listRule: "active = true",
  } as never);
  itemsId = c.id;
  await su.collection("catalog").create({ title: "visible", active: true });
});
afterAll(() => server.stop());

const key = () => `${itemsId}:127.0.0.1`;
const list = (filter: string, token?: string) =>
  server.fetch(`/api/collections/catalog/records?filter=${encodeURIComponent(filter)}`, { token });

describe("randomized throttle of repeated empty filtered searches (PocketBase's timing guard)", () => {
  it("does not count non-empty results, unfiltered lists or superusers", async () => {
    const su = await superuserToken(server);
    for (let i = 0; i < 5; i++) {
      expect((await list("title = 'visible'")).status).toBe(200);
      expect((await server.fetch("/api/collections/catalog/records")).status).toBe(200);
      expect((await list("title = 'nothing'", su)).status).toBe(200);
    }
    expect(await server.basalt.app.limiter.blocked("emptySearch", key())).toBe(0);
  });

  it("delays empty filtered answers once a client passes 3 in 3 seconds, answering them normally", async () => {
    for (let i = 0; i < 4; i++) await list(`title = 'probe ${i}'`);
    expect(await server.basalt.app.limiter.blocked("emptySearch", key())).toBeGreaterThan(0);
    const started = Date.now();
    for (let i = 0; i < 10; i++) {
      const res = await list(`title = 'guess ${i}'`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ items: [], totalItems: 0 });
    }
    // ten random waits below 500 ms: their sum is almost surely far above half a second
    expect(Date.now() - started).toBeGreaterThan(500);
  });
});
