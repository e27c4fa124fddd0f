import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";
import { eventually, openSse, type RawSse } from "../harness/sse.js";

// Issue 10, item 1: a budget of expanded records per response, realtime event and batch. The examples of
// the issue (nine records linking to each other expanded six levels deep; a hundred with a nested
// `fields` list) must be refused at once, and the server must keep answering.

let server: TestServer;
let su = "";
const nine: string[] = [];
const hundred: string[] = [];

async function createNodes(collection: string, count: number, into: string[]): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await server.fetch(`/api/collections/${collection}/records`, {
      method: "POST",
      json: { name: `n${i}` },
      token: su,
    });
    into.push(((await res.json()) as { id: string }).id);
  }
  // every node links to every node (itself included)
  for (const id of into) {
    const res = await server.fetch(`/api/collections/${collection}/records/${id}`, {
      method: "PATCH",
      json: { links: into },
      token: su,
    });
    expect(res.status).toBe(200);
  }
}

async function collection(name: string): Promise<void> {
  const res = await server.fetch("/api/collections", {
    method: "POST",
    token: su,
    json: { name, type: "base", listRule: "", viewRule: "", fields: [{ name: "name", type: "text" }] },
  });
  expect(res.status).toBe(200);
  const id = ((await res.json()) as { id: string }).id;
  const upd = await server.fetch(`/api/collections/${name}`, {
    method: "PATCH",
    token: su,
    json: {
      fields: [
        { name: "name", type: "text" },
        { name: "links", type: "relation", collectionId: id, maxSelect: 999 },
      ],
    },
  });
  expect(upd.status).toBe(200);
}

async function healthy(): Promise<void> {
  expect((await server.fetch("/api/health")).status).toBe(200);
}

beforeAll(async () => {
  server = await startServer();
  su = await superuserToken(server);
  await collection("nodes");
  await collection("many");
  await createNodes("nodes", 9, nine);
  await createNodes("many", 100, hundred);
}, 120_000);
afterAll(() => server.stop());

describe("expanded records budget", () => {
  it("refuses a guest's six-level expand over nine linked records with a clear 400", async () => {
    const res = await server.fetch(
      "/api/collections/nodes/records?expand=links.links.links.links.links.links",
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { message: string; data: unknown };
    expect(body.message).toMatch(/too many expanded records/);
    expect(body.message).toMatch(/5000/);
    expect(body.data).toEqual({});
    await healthy();
  });

  it("refuses a hundred linked records with a nested fields list", async () => {
    const fields =
      "id,expand.links.id,expand.links.expand.links.id,expand.links.expand.links.expand.links.name";
    const res = await server.fetch(
      `/api/collections/many/records?perPage=100&expand=links.links.links&fields=${encodeURIComponent(fields)}`,
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/too many expanded records/);
    // a single record with the same request: 100 + 10,000 expanded records, still refused
    const one = await server.fetch(`/api/collections/many/records/${hundred[0]}?expand=links.links`);
    expect(one.status).toBe(400);
    await healthy();
  });

  it("answers expands within the budget, counting every appearance of a shared record", async () => {
    // 9 records x 9 links x 9 links = 729 + 81 expanded records: well within 5,000
    const res = await server.fetch(
      "/api/collections/nodes/records?expand=links.links&fields=id,expand.links.expand.links.id",
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { items: { expand: { links: { expand: { links: unknown[] } }[] } }[] };
    expect(body.items).toHaveLength(9);
    expect(body.items[0].expand.links).toHaveLength(9);
    expect(body.items[0].expand.links[0].expand.links).toHaveLength(9);
    // the hundred, one level: 100 x 100 = 10,000 appearances of 100 loaded records: refused
    const wide = await server.fetch("/api/collections/many/records?perPage=100&expand=links");
    expect(wide.status).toBe(400);
    // 40 of them: 4,000 appearances, answered
    const ok = await server.fetch(
      "/api/collections/many/records?perPage=40&expand=links&fields=id,expand.links.id",
    );
    expect(ok.status).toBe(200);
    const items = ((await ok.json()) as { items: { expand: { links: unknown[] } }[] }).items;
    expect(items).toHaveLength(40);
    expect(items[39].expand.links).toHaveLength(100);
  });

  it("shares one budget across the requests of a batch (nothing is written when it is exceeded)", async () => {
    const on = await server.fetch("/api/settings", {
      method: "PATCH",
      token: su,
      json: { batch: { enabled: true, maxRequests: 50 } },
    });
    expect(on.status).toBe(200);
    // each create expands 9 + 81 + 729 = 819 records; seven of them need 5,733
    const requests = Array.from({ length: 7 }, (_, i) => ({
      method: "POST",
      url: "/api/collections/nodes/records?expand=links.links.links",
      body: { name: `batch${i}`, links: nine },
    }));
    const res = await server.fetch("/api/batch", { method: "POST", token: su, json: { requests } });
    expect(res.status).toBe(400);
    const list = await server.fetch(
      `/api/collections/nodes/records?filter=${encodeURIComponent("name ~ 'batch'")}`,
    );
    expect(((await list.json()) as { totalItems: number }).totalItems).toBe(0);
    // six fit
    const fewer = await server.fetch("/api/batch", {
      method: "POST",
      token: su,
      json: { requests: requests.slice(0, 6) },
    });
    expect(fewer.status).toBe(200);
    await healthy();
  });

  it("bounds the expands of one realtime event: a huge expand misses the event, a small one receives it", async () => {
    const streams: RawSse[] = [];
    try {
      const huge = await openSse(server.url);
      const small = await openSse(server.url);
      streams.push(huge, small);
      const topic = (expand: string) =>
        `nodes/*?options=${encodeURIComponent(JSON.stringify({ query: { expand } }))}`;
      const sub = (clientId: string, expand: string) =>
        server.fetch("/api/realtime", {
          method: "POST",
          json: { clientId, subscriptions: [topic(expand)] },
        });
      expect((await sub(huge.clientId, "links.links.links.links.links.links")).status).toBe(204);
      expect((await sub(small.clientId, "links")).status).toBe(204);
      const res = await server.fetch(`/api/collections/nodes/records/${nine[0]}`, {
        method: "PATCH",
        token: su,
        json: { name: "changed" },
      });
      expect(res.status).toBe(200);
      await server.basalt.app.realtime.drain();
      const frame = await small.next(topic("links"));
      expect((frame.data as { record: { expand: { links: unknown[] } } }).record.expand.links).toHaveLength(
        9,
      );
      expect(huge.frames.filter((f) => f.event.startsWith("nodes/*"))).toHaveLength(0);
      await healthy();
    } finally {
      for (const s of streams) s.close();
      await eventually(() => server.basalt.app.realtime.size === 0, 3000, "streams closed");
    }
  });
});
