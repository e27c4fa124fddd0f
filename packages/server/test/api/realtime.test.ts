import { connect } from "node:net";
import type PocketBase from "pocketbase";
import type { RecordModel } from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser, userToken } from "../harness/fixtures/users.js";
import { runScenarios } from "../harness/scenario.js";
import { startServer, superuserSdk, superuserToken, type TestServer } from "../harness/server.js";
import { eventually, installEventSource, openSse } from "../harness/sse.js";

installEventSource();

let server: TestServer;
let su: PocketBase;
let alice: PocketBase;
let bob: PocketBase;
let aliceId = "";
let bobId = "";
const clients: PocketBase[] = [];

async function signIn(email: string, password: string): Promise<PocketBase> {
  const pb = server.sdk();
  await pb.collection("users").authWithPassword(email, password);
  clients.push(pb);
  return pb;
}

type Msg = { action: string; record: RecordModel };
function collect(): { list: Msg[]; cb: (m: Msg) => void } {
  const list: Msg[] = [];
  return { list, cb: (m) => list.push(m) };
}

beforeAll(async () => {
  server = await startServer({ realtimeMaxBufferBytes: 64 * 1024 });
  su = await superuserSdk(server);
  clients.push(su);
  aliceId = await createUser(server, "alice@example.com", "alice-password-1");
  bobId = await createUser(server, "bob@example.com", "bob-password-1");
  alice = await signIn("alice@example.com", "alice-password-1");
  bob = await signIn("bob@example.com", "bob-password-1");
  const owner = "owner = @request.auth.id";
  await su.collections.create({
    name: "notes",
    fields: [
      { name: "title", type: "text" },
      { name: "owner", type: "relation", collectionId: "_pb_users_auth_", maxSelect: 1 },
      { name: "secret", type: "text", hidden: true },
    ],
    listRule: owner,
    viewRule: owner,
    createRule: "@request.auth.id != ''",
    updateRule: owner,
    deleteRule: owner,
  } as never);
  await su.collections.create({
    name: "posts",
    fields: [
      { name: "title", type: "text" },
      { name: "body", type: "editor" },
      { name: "author", type: "relation", collectionId: "_pb_users_auth_", maxSelect: 1 },
    ],
    listRule: "",
    viewRule: "",
    createRule: "",
    updateRule: "",
    deleteRule: "",
  } as never);
  const posts = await su.collections.getOne("posts");
  await su.collections.create({
    name: "comments",
    fields: [
      { name: "text", type: "text" },
      { name: "post", type: "relation", collectionId: posts.id, maxSelect: 1, cascadeDelete: true },
    ],
    listRule: "",
    viewRule: "",
    createRule: "",
  } as never);
  await su.settings.update({ batch: { enabled: true, maxRequests: 50, timeout: 3, maxBodySize: 0 } });
});

afterAll(async () => {
  for (const c of clients) await c.realtime.unsubscribe().catch(() => undefined);
  await server.stop();
});

describe("realtime protocol", () => {
  it("opens an SSE stream whose first frame is PB_CONNECT with the client id", async () => {
    const sse = await openSse(server.url);
    expect(sse.status).toBe(200);
    expect(sse.headers["content-type"]).toContain("text/event-stream");
    expect(sse.headers["cache-control"]).toBe("no-store");
    expect(sse.headers["x-accel-buffering"]).toBe("no");
    expect(sse.clientId).toMatch(/^[a-z0-9]{40}$/);
    sse.close();
  });

  runScenarios(
    () => server,
    [
      {
        name: "a subscription without clientId is a 400",
        method: "POST",
        url: "/api/realtime",
        body: { subscriptions: ["posts/*"] },
        status: 400,
        json: { status: 400, data: { clientId: { code: "validation_required" } } },
      },
      {
        name: "an unknown client id is a 404",
        method: "POST",
        url: "/api/realtime",
        body: { clientId: "nope", subscriptions: ["posts/*"] },
        status: 404,
        json: { status: 404, message: "Missing or invalid client id." },
      },
      {
        name: "subscriptions must be a list",
        method: "POST",
        url: "/api/realtime",
        body: { clientId: "nope", subscriptions: "posts/*" },
        status: 400,
      },
    ],
  );

  it("refuses too many or too long subscriptions, and malformed options", async () => {
    const sse = await openSse(server.url);
    const post = (subscriptions: unknown) =>
      server.fetch("/api/realtime", { method: "POST", json: { clientId: sse.clientId, subscriptions } });
    expect((await post(Array.from({ length: 1001 }, (_, i) => `posts/${i}`))).status).toBe(400);
    expect((await post([`posts/*?options=${"x".repeat(2600)}`])).status).toBe(400);
    expect((await post(["posts/*?options=%7Bnot-json"])).status).toBe(400);
    expect((await post([42])).status).toBe(400);
    expect((await post(["posts/*", "posts/abc"])).status).toBe(204);
    expect((await post([])).status).toBe(204);
    sse.close();
  });

  it("applies subscription requests in arrival order, though a long list is parsed in slices", async () => {
    const sse = await openSse(server.url);
    // injected, both bodies are there at once: the handlers start in this order
    const post = (subscriptions: string[]) =>
      server.basalt.server.inject({
        method: "POST",
        url: "/api/realtime",
        remoteAddress: "127.0.0.1",
        payload: { clientId: sse.clientId, subscriptions },
      });
    const options = encodeURIComponent(
      JSON.stringify({ query: { filter: `title != '${"x".repeat(120)}'` } }),
    );
    const long = Array.from({ length: 1000 }, (_, k) => `posts/r${k}?options=${options}`);
    // the second request arrives while the first one's 1,000 topics are still being parsed
    const [first, second] = await Promise.all([post(long), post(["posts/*"])]);
    expect([first.statusCode, second.statusCode]).toEqual([204, 204]);
    const client = server.basalt.app.realtime.client(sse.clientId);
    expect([...(client?.subscriptions.keys() ?? [])]).toEqual(["posts/*"]);
    expect((await post(long)).statusCode).toBe(204);
    expect(client?.subscriptions.size).toBe(1000);
    sse.close();
  });

  it("refuses a change of identity on the same connection, but allows guest to signed in", async () => {
    const sse = await openSse(server.url);
    const post = (token?: string) =>
      server.fetch("/api/realtime", {
        method: "POST",
        token,
        json: { clientId: sse.clientId, subscriptions: ["notes/*"] },
      });
    expect((await post()).status).toBe(204);
    const aliceToken = await userToken(server, "alice@example.com", "alice-password-1");
    expect((await post(aliceToken)).status).toBe(204);
    const bobToken = await userToken(server, "bob@example.com", "bob-password-1");
    const res = await post(bobToken);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      status: 403,
      message: "The current and the previous request authorization don't match.",
    });
    expect((await post()).status).toBe(403);
    sse.close();
  });
});

describe("realtime delivery through the SDK", () => {
  it("delivers create, update and delete of a public collection with the topic as event name", async () => {
    const got = collect();
    const unsubscribe = await bob.collection("posts").subscribe("*", got.cb);
    const p = await alice.collection("posts").create({ title: "hello" });
    await alice.collection("posts").update(p.id, { title: "hello again" });
    await alice.collection("posts").delete(p.id);
    await eventually(() => got.list.length >= 3, 3000, "three events");
    expect(got.list.map((m) => m.action)).toEqual(["create", "update", "delete"]);
    expect(got.list[1].record).toMatchObject({ id: p.id, title: "hello again", collectionName: "posts" });
    expect(got.list[2].record.id).toBe(p.id);
    await unsubscribe();
  });

  it("a user sees its own records' events and not another user's", async () => {
    const a = collect();
    const b = collect();
    const ua = await alice.collection("notes").subscribe("*", a.cb);
    const ub = await bob.collection("notes").subscribe("*", b.cb);
    const mine = await alice.collection("notes").create({ title: "alice's", owner: aliceId, secret: "s1" });
    const theirs = await bob.collection("notes").create({ title: "bob's", owner: bobId });
    await eventually(() => a.list.length >= 1 && b.list.length >= 1, 3000, "both creates");
    await server.basalt.app.realtime.drain();
    expect(a.list.map((m) => m.record.id)).toEqual([mine.id]);
    expect(b.list.map((m) => m.record.id)).toEqual([theirs.id]);
    expect(a.list[0].record).not.toHaveProperty("secret");
    await ua();
    await ub();
  });

  it("a record that stops matching the rule stops being delivered", async () => {
    const a = collect();
    const b = collect();
    const ua = await alice.collection("notes").subscribe("*", a.cb);
    const ub = await bob.collection("notes").subscribe("*", b.cb);
    const note = await alice.collection("notes").create({ title: "moving", owner: aliceId });
    await eventually(() => a.list.length === 1, 3000, "alice's create");
    // ownership moves to bob: the update matches bob's rule only
    await su.collection("notes").update(note.id, { owner: bobId });
    await eventually(() => b.list.length === 1, 3000, "bob's update");
    await su.collection("notes").update(note.id, { title: "still bob's" });
    await eventually(() => b.list.length === 2, 3000, "bob's second update");
    await server.basalt.app.realtime.drain();
    expect(a.list.map((m) => m.action)).toEqual(["create"]);
    expect(b.list.map((m) => m.action)).toEqual(["update", "update"]);
    await ua();
    await ub();
  });

  it("a record topic uses the view rule; options filter, expand and fields apply per subscription", async () => {
    const one = collect();
    const filtered = collect();
    const note = await alice.collection("notes").create({ title: "watched", owner: aliceId });
    const u1 = await alice
      .collection("notes")
      .subscribe(note.id, one.cb, { expand: "owner", fields: "id,title,expand.owner.email" });
    const u2 = await alice.collection("notes").subscribe("*", filtered.cb, { filter: "title ~ 'keep'" });
    const spy = collect();
    const u3 = await bob.collection("notes").subscribe(note.id, spy.cb);
    await alice.collection("notes").update(note.id, { title: "watched 2" });
    await alice.collection("notes").create({ title: "keep me", owner: aliceId });
    await alice.collection("notes").create({ title: "drop me", owner: aliceId });
    await eventually(() => one.list.length === 1 && filtered.list.length === 1, 3000, "filtered events");
    await server.basalt.app.realtime.drain();
    expect(one.list[0].record).toEqual({
      id: note.id,
      title: "watched 2",
      expand: { owner: { email: "alice@example.com" } },
    });
    expect(filtered.list.map((m) => m.record.title)).toEqual(["keep me"]);
    expect(spy.list).toEqual([]);
    await u1();
    await u2();
    await u3();
  });

  it("superusers receive hidden fields; users never do", async () => {
    const s = collect();
    const a = collect();
    const u = await su.collection("notes").subscribe("*", s.cb);
    const ua = await alice.collection("notes").subscribe("*", a.cb);
    // hidden fields are written by superusers only (PocketBase skips them in other callers' bodies)
    await su.collection("notes").create({ title: "with secret", owner: aliceId, secret: "hush" });
    await eventually(() => s.list.length === 1 && a.list.length === 1, 3000, "both events");
    expect(s.list[0].record.secret).toBe("hush");
    expect(a.list[0].record).not.toHaveProperty("secret");
    await u();
    await ua();
  });

  it("on an auth collection each reader gets its own payload: only the owner sees its hidden e-mail", async () => {
    // readers of one base collection share one serialised event; an auth record's e-mail depends on who reads
    await su.collections.create({
      name: "members",
      type: "auth",
      fields: [{ name: "nick", type: "text" }],
      listRule: "",
      viewRule: "",
      updateRule: "id = @request.auth.id",
      passwordAuth: { enabled: true, identityFields: ["email"] },
    } as never);
    const made = [];
    for (const who of ["m1", "m2"]) {
      made.push(
        await su.collection("members").create({
          email: `${who}@example.com`,
          password: "member-password-1",
          passwordConfirm: "member-password-1",
          emailVisibility: false,
          nick: who,
        }),
      );
    }
    const m1 = server.sdk();
    await m1.collection("members").authWithPassword("m1@example.com", "member-password-1");
    const m2 = server.sdk();
    await m2.collection("members").authWithPassword("m2@example.com", "member-password-1");
    const guest = server.sdk();
    clients.push(m1, m2, guest);
    const [c1, c2, cg] = [collect(), collect(), collect()];
    const unsubs = [
      await m1.collection("members").subscribe("*", c1.cb),
      await m2.collection("members").subscribe("*", c2.cb),
      await guest.collection("members").subscribe("*", cg.cb),
    ];
    await m1.collection("members").update(made[0]!.id, { nick: "m1 again" });
    await eventually(
      () => c1.list.length === 1 && c2.list.length === 1 && cg.list.length === 1,
      3000,
      "three events",
    );
    expect(c1.list[0]!.record).toMatchObject({ nick: "m1 again", email: "m1@example.com" });
    expect(c2.list[0]!.record.nick).toBe("m1 again");
    expect(c2.list[0]!.record).not.toHaveProperty("email");
    expect(cg.list[0]!.record).not.toHaveProperty("email");
    for (const u of unsubs) await u();
  });

  it("sends events from batch writes and cascade deletes, never from a rolled-back batch", async () => {
    const posts = collect();
    const comments = collect();
    const up = await bob.collection("posts").subscribe("*", posts.cb);
    const uc = await bob.collection("comments").subscribe("*", comments.cb);
    const batch = alice.createBatch();
    batch.collection("posts").create({ id: "batchpost000001", title: "from batch" });
    batch.collection("comments").create({ id: "batchcomment001", text: "first", post: "batchpost000001" });
    await batch.send();
    await eventually(() => posts.list.length === 1 && comments.list.length === 1, 3000, "batch events");
    const failing = alice.createBatch();
    failing.collection("posts").create({ title: "never" });
    failing.collection("posts").update("missing-record-1", { title: "x" });
    await expect(failing.send()).rejects.toMatchObject({ status: 400 });
    await alice.collection("posts").delete("batchpost000001");
    await eventually(
      () => comments.list.length === 2 && posts.list.length === 2,
      3000,
      "cascade delete events",
    );
    await server.basalt.app.realtime.drain();
    expect(posts.list.map((m) => [m.action, m.record.title])).toEqual([
      ["create", "from batch"],
      ["delete", "from batch"],
    ]);
    expect(comments.list.map((m) => [m.action, m.record.id])).toEqual([
      ["create", "batchcomment001"],
      ["delete", "batchcomment001"],
    ]);
    await up();
    await uc();
  });

  it("a subscriber whose token is revoked stops receiving protected events", async () => {
    const carol = await createUser(server, "carol@example.com", "carol-password-1");
    const pb = await signIn("carol@example.com", "carol-password-1");
    const got = collect();
    const u = await pb.collection("notes").subscribe("*", got.cb);
    await su.collection("notes").create({ title: "for carol", owner: carol });
    await eventually(() => got.list.length === 1, 3000, "carol's first event");
    // a new password rotates the token key: every token of the record is revoked
    await su
      .collection("users")
      .update(carol, { password: "carol-password-2", passwordConfirm: "carol-password-2" });
    await su.collection("notes").create({ title: "after revocation", owner: carol });
    await server.basalt.app.realtime.drain();
    expect(got.list.map((m) => m.record.title)).toEqual(["for carol"]);
    await u().catch(() => undefined);
  });
});

describe("realtime limits", () => {
  it("disconnects a client that does not read instead of buffering without bound", async () => {
    const token = await superuserToken(server);
    const socket = connect(Number(new URL(server.url).port), "127.0.0.1");
    let head = "";
    await new Promise<void>((resolve) => {
      socket.on("connect", () =>
        socket.write("GET /api/realtime HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"),
      );
      socket.on("data", (d) => {
        head += d.toString();
        if (head.includes("PB_CONNECT") && head.includes("\n\n")) {
          socket.pause();
          resolve();
        }
      });
    });
    const clientId = /id:(\w+)/.exec(head)![1];
    const sub = await server.fetch("/api/realtime", {
      method: "POST",
      json: { clientId, subscriptions: ["posts/*"] },
    });
    expect(sub.status).toBe(204);
    const before = server.basalt.app.realtime.size;
    const big = "x".repeat(200_000);
    for (let i = 0; i < 60 && server.basalt.app.realtime.client(clientId); i++) {
      await server.fetch("/api/collections/posts/records", {
        method: "POST",
        token,
        json: { title: `big ${i}`, body: big },
      });
      await server.basalt.app.realtime.drain();
    }
    expect(server.basalt.app.realtime.client(clientId)).toBeUndefined();
    expect(server.basalt.app.realtime.size).toBe(before - 1);
    expect(process.memoryUsage().rss).toBeLessThan(1.5 * 1024 ** 3);
    socket.destroy();
  });
});
