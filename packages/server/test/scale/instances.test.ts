import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type PocketBase from "pocketbase";
import type { RecordModel } from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../harness/fixtures/users.js";
import { deleteKeys, REDIS_TEST_URL, redisAvailable, uniquePrefix } from "../harness/redis.js";
import { startServer, superuserSdk, superuserToken, type TestServer } from "../harness/server.js";
import { eventually, installEventSource } from "../harness/sse.js";

// Two Basalt instances in one process sharing one data folder (SQLite in WAL mode) and one Redis under a
// key prefix of this run's own (issue 6): whatever is written through one is seen through the other.
installEventSource();
const redisUp = await redisAvailable("Multi-instance tests");
const prefix = uniquePrefix();
const dir = mkdtempSync(join(tmpdir(), "basalt-scale-"));
let a: TestServer;
let b: TestServer;
let suA: PocketBase;
const clients: PocketBase[] = [];

async function signIn(server: TestServer, email: string, password: string): Promise<PocketBase> {
  const pb = server.sdk();
  await pb.collection("users").authWithPassword(email, password);
  clients.push(pb);
  return pb;
}

/**
 * Retries an async check for up to 1 s. A change's answer on A waits until Redis took the announcement, so B
 * is current within the bus latency (well under a millisecond here), not at the same instant: the retries
 * only absorb scheduling on a loaded machine.
 */
async function soon<T>(check: () => Promise<T>, expected: T): Promise<void> {
  const deadline = Date.now() + 1000;
  let last: T = await check();
  while (last !== expected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
    last = await check();
  }
  expect(last).toBe(expected);
}

beforeAll(async () => {
  if (!redisUp) return;
  const config = { redisUrl: REDIS_TEST_URL, redisPrefix: prefix };
  a = await startServer(config, { dataDir: dir, store: "sqlite" });
  b = await startServer(config, { dataDir: dir, store: "sqlite" });
  suA = await superuserSdk(a);
  clients.push(suA);
  await createUser(a, "alice@example.com", "alice-password-1");
  await createUser(a, "bob@example.com", "bob-password-1");
});

afterAll(async () => {
  for (const pb of clients) pb.realtime.unsubscribe().catch(() => undefined);
  await b?.stop();
  await a?.stop();
  rmSync(dir, { recursive: true, force: true });
  if (redisUp) await deleteKeys(prefix);
});

describe.runIf(redisUp)("two instances on one store and one Redis", () => {
  it("accept on B the tokens A issued", async () => {
    const token = await superuserToken(a);
    expect((await b.fetch("/api/collections", { token })).status).toBe(200);
    const alice = await signIn(a, "alice@example.com", "alice-password-1");
    const onB = b.sdk();
    onB.authStore.save(alice.authStore.token, alice.authStore.record);
    const refreshed = await onB.collection("users").authRefresh();
    expect(refreshed.record.email).toBe("alice@example.com");
  });

  it("serve through B a collection created through A at once, with A's later rule changes", async () => {
    await suA.collections.create({
      name: "tasks",
      fields: [
        { name: "title", type: "text" },
        { name: "owner", type: "relation", collectionId: "_pb_users_auth_", maxSelect: 1 },
      ],
      listRule: "",
      viewRule: "",
      createRule: "@request.auth.id != ''",
    } as never);
    const alice = await signIn(b, "alice@example.com", "alice-password-1");
    const bob = await signIn(b, "bob@example.com", "bob-password-1");
    await soon(async () => (await b.fetch("/api/collections/tasks/records")).status, 200);
    const created = await alice
      .collection("tasks")
      .create({ title: "one", owner: alice.authStore.record?.id });
    expect(created.title).toBe("one");
    expect((await bob.collection("tasks").getList()).totalItems).toBe(1);
    // the compiled rule cached on B is dropped when A changes it
    await suA.collections.update("tasks", { listRule: "owner = @request.auth.id" });
    await soon(async () => (await bob.collection("tasks").getList()).totalItems, 0);
    expect((await alice.collection("tasks").getList()).totalItems).toBe(1);
    await suA.collections.delete("tasks");
    await soon(async () => (await b.fetch("/api/collections/tasks/records")).status, 404);
  });

  it("deliver a record written through A to B's subscribers that may see it", async () => {
    await suA.collections.create({
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
    const aliceOnA = await signIn(a, "alice@example.com", "alice-password-1");
    const aliceOnB = await signIn(b, "alice@example.com", "alice-password-1");
    const bobOnB = await signIn(b, "bob@example.com", "bob-password-1");
    const seenByAlice: { action: string; record: RecordModel }[] = [];
    const seenByBob: { action: string; record: RecordModel }[] = [];
    await aliceOnB.collection("notes").subscribe("*", (e) => seenByAlice.push(e));
    await bobOnB.collection("notes").subscribe("*", (e) => seenByBob.push(e));
    expect(b.basalt.app.realtime.size).toBe(2);
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
  });

  it("apply on B the settings changed through A", async () => {
    await suA.settings.update({ meta: { appName: "Scaled out" } });
    const token = await superuserToken(b);
    const appName = async () => {
      const res = await b.fetch("/api/settings", { token });
      return ((await res.json()) as { meta: { appName: string } }).meta.appName;
    };
    await soon(appName, "Scaled out");
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
    for (const s of [a, b]) await soon(() => enabled(s), true);
    const attempt = (s: TestServer, password: string) =>
      s.fetch("/api/collections/users/auth-with-password", {
        method: "POST",
        json: { identity: "bob@example.com", password },
      });
    expect((await attempt(a, "wrong")).status).toBe(400);
    expect((await attempt(a, "wrong")).status).toBe(400);
    expect((await attempt(b, "wrong")).status).toBe(400);
    // three requests, two of them on A: B now refuses the fourth, and so does A
    const refused = await attempt(b, "bob-password-1");
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ status: 429, message: "Too Many Requests.", data: {} });
    expect((await attempt(a, "bob-password-1")).status).toBe(429);
    await su.settings.update({ rateLimits: { enabled: false } });
    for (const s of [a, b]) await soon(() => enabled(s), false);
    expect((await attempt(b, "bob-password-1")).status).toBe(200);
  });
});
