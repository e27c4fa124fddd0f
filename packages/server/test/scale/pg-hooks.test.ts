import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../harness/dialects.js";
import { type HooksProject, hooksProject } from "../harness/hooks-project.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";
import { postgresAvailable } from "./pg-helpers.js";

// Two Basalt instances on one PostgreSQL database, loading the same hook folder (issue 13, item 9): onServe
// runs on each; a model hook runs inside the write's transaction of the instance that handles the write,
// so the other instance sees nothing of it (the record, or what the hook wrote through e.tx) until it
// commits, and nothing at all when the hook refuses.
const pgUp = await postgresAvailable("PostgreSQL multi-instance hook tests");

const MAIN = `
import type { HookApi } from "basalt";
export default function (app: HookApi) {
  let release: (() => void) | undefined;
  app.onServe(async (e) => {
    // the first instance serves before the test creates the collection
    if (app.collections.find("instances")) await app.records.create("instances", { address: e.address });
    return e.next();
  });
  app.onRecordCreate(async (e) => {
    await e.tx.create("audit", { note: String(e.record.note) });
    if (e.record.hold) await new Promise<void>((r) => { release = r; });
    await e.next();
    if (e.record.note === "refuse") throw app.errors.badRequest("Refused after writing.");
  }, { collections: ["orders"] });
  app.router.get("/api/test/held", () => ({ held: release !== undefined }));
  app.router.post("/api/test/release", () => { release?.(); release = undefined; return {}; });
}
`;

let project: HooksProject;
let db: TestDatabase;
const servers: TestServer[] = [];
let su = "";

async function post(server: TestServer, path: string, json: unknown, token = su) {
  const res = await server.fetch(path, { method: "POST", json, token });
  return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> };
}

async function count(server: TestServer, collection: string, filter: string): Promise<number> {
  const res = await server.fetch(
    `/api/collections/${collection}/records?filter=${encodeURIComponent(filter)}`,
    {
      token: su,
    },
  );
  return ((await res.json()) as { totalItems: number }).totalItems;
}

describe.skipIf(!pgUp)("hooks on several PostgreSQL instances", () => {
  beforeAll(async () => {
    project = hooksProject({ "main.ts": MAIN });
    db = await createTestDatabase();
    const config = { dbUrl: db.url, dbMaxConnections: 5, hooksDir: project.hooksDir };
    // the first instance creates the collections the hooks use, then both serve
    const first = await startServer(config, { store: "postgres" });
    servers.push(first);
    su = await superuserToken(first);
    for (const c of [
      { name: "instances", fields: [{ name: "address", type: "text" }] },
      { name: "audit", fields: [{ name: "note", type: "text" }] },
      {
        name: "orders",
        createRule: "",
        fields: [
          { name: "note", type: "text" },
          { name: "hold", type: "bool" },
        ],
      },
    ]) {
      expect((await post(first, "/api/collections", { type: "base", ...c })).status).toBe(200);
    }
    servers.push(await startServer(config, { store: "postgres" }));
    servers.push(await startServer(config, { store: "postgres" }));
    // each start sets the test superuser's password again, which revokes earlier tokens
    su = await superuserToken(servers[2]);
  });

  afterAll(async () => {
    for (const s of servers) await s.stop();
    await db?.drop();
    project?.remove();
  });

  it("onServe runs on every instance", async () => {
    const [, b, c] = servers;
    // the first instance served before \`instances\` existed, so it is not listed
    const res = await b.fetch("/api/collections/instances/records?perPage=10", { token: su });
    const json = (await res.json()) as { items: { address: string }[] };
    expect(res.status, JSON.stringify(json)).toBe(200);
    const items = json.items.map((i) => i.address);
    expect(items.sort()).toEqual([b.url, c.url].sort());
  });

  it("a model hook runs inside the write's transaction of the instance that handles it", async () => {
    const [a, b] = servers;
    const held = post(b, "/api/collections/orders/records", { note: "held", hold: true }, "");
    const deadline = Date.now() + 5000;
    let waiting = false;
    while (!waiting && Date.now() < deadline) {
      waiting = ((await (await b.fetch("/api/test/held")).json()) as { held: boolean }).held;
      if (!waiting) await new Promise((r) => setTimeout(r, 20));
    }
    expect(waiting).toBe(true);
    // the hook has written its audit row in B's open transaction: A sees neither it nor the order
    expect(await count(a, "audit", "note = 'held'")).toBe(0);
    expect(await count(a, "orders", "note = 'held'")).toBe(0);
    expect((await post(b, "/api/test/release", {})).status).toBe(200);
    expect((await held).status).toBe(200);
    expect(await count(a, "audit", "note = 'held'")).toBe(1);
    expect(await count(a, "orders", "note = 'held'")).toBe(1);
  });

  it("a hook that refuses after writing through e.tx leaves nothing on any instance", async () => {
    const [a, b] = servers;
    const refused = await post(b, "/api/collections/orders/records", { note: "refuse" }, "");
    expect(refused.status).toBe(400);
    expect(refused.body.message).toBe("Refused after writing.");
    expect(await count(a, "audit", "note = 'refuse'")).toBe(0);
    expect(await count(a, "orders", "note = 'refuse'")).toBe(0);
  });
});
