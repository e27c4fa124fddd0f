import type PocketBase from "pocketbase";
import type { RecordModel } from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../harness/dialects.js";
import { createUser } from "../harness/fixtures/users.js";
import { deleteKeys, REDIS_TEST_URL, redisAvailable, uniquePrefix } from "../harness/redis.js";
import { startServer, superuserSdk, superuserToken, type TestServer } from "../harness/server.js";
import { eventually, installEventSource } from "../harness/sse.js";
import { postgresAvailable } from "./pg-helpers.js";

// Several Basalt instances on one PostgreSQL database (issue 6): with one Redis (under a prefix of this run's
// own) for realtime and rate limits, and without Redis, where realtime goes through LISTEN/NOTIFY.
installEventSource();
const pgUp = await postgresAvailable("PostgreSQL multi-instance tests");
const redisUp = pgUp && (await redisAvailable("PostgreSQL multi-instance tests with Redis"));
const prefix = uniquePrefix();
const servers: TestServer[] = [];
const databases: TestDatabase[] = [];
const clients: PocketBase[] = [];

/** Starts `n` instances on one fresh database; the first bootstraps it. */
async function cluster(n: number, redis: boolean): Promise<TestServer[]> {
  const db = await createTestDatabase();
  databases.push(db);
  const config = {
    dbUrl: db.url,
    dbMaxConnections: 5,
    ...(redis ? { redisUrl: REDIS_TEST_URL, redisPrefix: prefix } : {}),
  };
  const out: TestServer[] = [];
  for (let i = 0; i < n; i++) out.push(await startServer(config, { store: "postgres" }));
  servers.push(...out);
  return out;
}

/** Retries an async check for up to 1 s (the other instances reload settings within the bus latency). */
async function soon<T>(check: () => Promise<T>, expected: T): Promise<void> {
  const deadline = Date.now() + 1000;
  let last: T = await check();
  while (last !== expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
    last = await check();
  }
  expect(last).toBe(expected);
}

async function signIn(server: TestServer, email: string, password: string): Promise<PocketBase> {
  const pb = server.sdk();
  await pb.collection("users").authWithPassword(email, password);
  clients.push(pb);
  return pb;
}

/** Creates `notes` (owner-only rules) through `su` and checks that a record written on `a` reaches B. */
async function crossDelivery(a: TestServer, b: TestServer): Promise<void> {
  const su = await superuserSdk(a);
  clients.push(su);
  await su.collections.create({
    name: "notes",
    fields: [
      { name: "text", type: "text" },
      { name: "owner", type: "relation", collectionId: "_pb_users_auth_", maxSelect: 1 },
    ],
    listRule: "owner = @request.auth.id",
    viewRule: "owner = @request.auth.id",
    createRule: "@request.auth.id != ''",
    updateRule: "owner = @request.auth.id",
  } as never);
  await createUser(a, "alice@example.com", "alice-password-1");
  await createUser(a, "bob@example.com", "bob-password-1");
  const aliceOnA = await signIn(a, "alice@example.com", "alice-password-1");
  const aliceOnB = await signIn(b, "alice@example.com", "alice-password-1");
  const bobOnB = await signIn(b, "bob@example.com", "bob-password-1");
  const seenByAlice: { action: string; record: RecordModel }[] = [];
  const seenByBob: { action: string; record: RecordModel }[] = [];
  // B learnt of `notes` through the bus; the subscription is checked against it
  await eventually(() => !!b.basalt.app.collections.find("notes"), 3000, "notes on B");
  await aliceOnB.collection("notes").subscribe("*", (e) => seenByAlice.push(e));
  await bobOnB.collection("notes").subscribe("*", (e) => seenByBob.push(e));
  const note = await aliceOnA
    .collection("notes")
    .create({ text: "hi", owner: aliceOnA.authStore.record?.id });
  await eventually(() => seenByAlice.length === 1, 3000, "alice's event on B");
  expect(seenByAlice[0]).toMatchObject({ action: "create", record: { id: note.id, text: "hi" } });
  await aliceOnA.collection("notes").update(note.id, { text: "edited" });
  await eventually(() => seenByAlice.length === 2, 3000, "the update on B");
  expect(seenByAlice[1]).toMatchObject({ action: "update", record: { text: "edited" } });
  // bob's own event proves his stream works; alice's never reached him
  await bobOnB.collection("notes").create({ text: "bob's", owner: bobOnB.authStore.record?.id });
  await eventually(() => seenByBob.length === 1, 3000, "bob's event");
  expect(seenByBob.map((e) => e.record.text)).toEqual(["bob's"]);
  expect(seenByAlice).toHaveLength(2);
}

afterAll(async () => {
  for (const pb of clients) pb.realtime.unsubscribe().catch(() => undefined);
  for (const s of servers.reverse()) await s.stop();
  for (const db of databases) await db.drop();
  if (redisUp) await deleteKeys(prefix);
});

describe.runIf(redisUp)("three instances on one PostgreSQL and one Redis", () => {
  let a: TestServer;
  let b: TestServer;
  let c: TestServer;

  beforeAll(async () => {
    [a, b, c] = await cluster(3, true);
  });

  it("deliver a record written through A to B's subscribers that may see it", () => crossDelivery(a, b));

  it("accept on B and C the tokens A issued", async () => {
    const token = await superuserToken(a);
    expect((await b.fetch("/api/collections", { token })).status).toBe(200);
    expect((await c.fetch("/api/collections", { token })).status).toBe(200);
    const alice = await signIn(a, "alice@example.com", "alice-password-1");
    const onB = b.sdk();
    onB.authStore.save(alice.authStore.token, alice.authStore.record);
    expect((await onB.collection("users").authRefresh()).record.email).toBe("alice@example.com");
  });

  it("count the settings' rate limits across instances", async () => {
    // enabled through A; every instance applies the rule (settings travel over the bus) and counts the
    // client's requests in the shared Redis counters
    const su = await superuserSdk(a);
    await su.settings.update({
      rateLimits: {
        enabled: true,
        rules: [{ label: "users:authWithPassword", audience: "", duration: 60, maxRequests: 3 }],
      },
    });
    const enabled = async (s: TestServer) => s.basalt.app.settings.rateLimits.enabled;
    for (const s of [a, b, c]) await soon(() => enabled(s), true);
    const attempt = (s: TestServer, password: string) =>
      s.fetch("/api/collections/users/auth-with-password", {
        method: "POST",
        json: { identity: "bob@example.com", password },
      });
    expect((await attempt(a, "wrong")).status).toBe(400);
    expect((await attempt(a, "wrong")).status).toBe(400);
    expect((await attempt(c, "wrong")).status).toBe(400);
    // three requests, two of them on A: B now refuses the fourth, and so does A
    const refused = await attempt(b, "bob-password-1");
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ status: 429, message: "Too Many Requests.", data: {} });
    expect((await attempt(a, "bob-password-1")).status).toBe(429);
    await su.settings.update({ rateLimits: { enabled: false } });
    for (const s of [a, b, c]) await soon(() => enabled(s), false);
    expect((await attempt(b, "bob-password-1")).status).toBe(200);
  });

  it("let exactly one of concurrent creates under a unique index through every instance succeed", async () => {
    const su = await superuserSdk(a);
    await su.collections.create({
      name: "slugs",
      fields: [{ name: "slug", type: "text" }],
      createRule: "",
      indexes: ["CREATE UNIQUE INDEX idx_slugs_slug ON slugs (slug)"],
    } as never);
    await eventually(() => [b, c].every((s) => !!s.basalt.app.collections.find("slugs")), 3000, "slugs");
    for (let round = 0; round < 5; round++) {
      const slug = `taken-${round}`;
      const answers = await Promise.all(
        [a, b, c, a, b, c].map((s) =>
          s.fetch("/api/collections/slugs/records", { method: "POST", json: { slug } }),
        ),
      );
      const statuses = answers.map((r) => r.status).sort();
      expect(statuses).toEqual([200, 400, 400, 400, 400, 400]);
      for (const r of answers.filter((x) => x.status === 400)) {
        expect(await r.json()).toMatchObject({
          status: 400,
          data: { slug: { code: "validation_not_unique" } },
        });
      }
    }
    expect((await su.collection("slugs").getList(1, 50)).totalItems).toBe(5);
  });
});

describe.runIf(pgUp)("two instances on one PostgreSQL without Redis", () => {
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    [a, b] = await cluster(2, false);
  });

  it("deliver realtime events across instances through LISTEN/NOTIFY", async () => {
    await crossDelivery(a, b);
  });

  it("apply on B the settings changed through A", async () => {
    const su = await superuserSdk(a);
    await su.settings.update({ meta: { appName: "Over NOTIFY" } });
    await eventually(() => b.basalt.app.settings.get().meta.appName === "Over NOTIFY", 3000, "B's settings");
  });

  it("serve on B the GraphQL schema of a collection created through A (issue 16)", async () => {
    // B builds (and caches) its schema before the collection exists
    const before = await b.fetch("/api/graphql", {
      method: "POST",
      json: { query: "{ listUsers { totalItems } }" },
    });
    expect(before.status).toBe(200);
    const su = await superuserSdk(a);
    await su.collections.create({ name: "gqlnotes", listRule: "", fields: [{ name: "body", type: "text" }] });
    await su.collection("gqlnotes").create({ body: "from A" });
    const ask = async (): Promise<string> => {
      const res = await b.fetch("/api/graphql", {
        method: "POST",
        json: { query: "{ listGqlnotes { items { body } } }" },
      });
      return JSON.stringify(await res.json());
    };
    await soon(ask, JSON.stringify({ data: { listGqlnotes: { items: [{ body: "from A" }] } } }));
  });
});
