import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addressKey } from "../../src/realtime/index.js";
import { createUser, userToken } from "../harness/fixtures/users.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";
import { eventually, openSse, type RawSse } from "../harness/sse.js";

// Issue 10, "bounded memory per client": streams per address and in total, subscription sizes, shared
// checks and a check budget per event.

let server: TestServer;
let su = "";
const open: RawSse[] = [];

async function sse(): Promise<RawSse> {
  const s = await openSse(server.url);
  open.push(s);
  return s;
}

function subscribe(clientId: string, subscriptions: string[], token?: string): Promise<Response> {
  return server.fetch("/api/realtime", { method: "POST", json: { clientId, subscriptions }, token });
}

function withFilter(topic: string, filter: string): string {
  return `${topic}?options=${encodeURIComponent(JSON.stringify({ query: { filter } }))}`;
}

async function closeAll(): Promise<void> {
  for (const s of open.splice(0)) s.close();
  await eventually(() => server.basalt.app.realtime.size === 0, 3000, "streams closed");
}

async function createPost(title: string, score = 1): Promise<void> {
  const res = await server.fetch("/api/collections/posts/records", {
    method: "POST",
    json: { title, score },
    token: su,
  });
  expect(res.status).toBe(200);
  await server.basalt.app.realtime.drain();
}

beforeAll(async () => {
  server = await startServer({
    realtimeMaxClients: 8,
    realtimeMaxClientsPerIp: 5,
    realtimeMaxSubscriptionBytes: 4000,
    realtimeMaxSubscriptionBytesPerIp: 10_000,
    realtimeMaxOptionsPerCollection: 20,
    realtimeMaxChecksPerEvent: 12,
  });
  su = await superuserToken(server);
  const res = await server.fetch("/api/collections", {
    method: "POST",
    token: su,
    json: {
      name: "posts",
      fields: [
        { name: "title", type: "text" },
        { name: "score", type: "number" },
        { name: "owner", type: "relation", collectionId: "_pb_users_auth_", maxSelect: 1 },
      ],
      listRule: "score >= 0",
      viewRule: "score >= 0",
    },
  });
  expect(res.status).toBe(200);
  const mine = await server.fetch("/api/collections", {
    method: "POST",
    token: su,
    json: {
      name: "mine",
      fields: [{ name: "title", type: "text" }],
      listRule: "@request.auth.id != ''",
      viewRule: "@request.auth.id != ''",
    },
  });
  expect(mine.status).toBe(200);
});

afterAll(async () => {
  for (const s of open) s.close();
  await server?.stop();
});

describe("realtime limits", () => {
  it("counts an IPv6 /64 as one address and IPv4-mapped addresses as IPv4", () => {
    expect(addressKey("2001:db8:1:2:3:4:5:6")).toBe(addressKey("2001:db8:1:2::9"));
    expect(addressKey("2001:db8:1:2::9")).not.toBe(addressKey("2001:db8:1:3::9"));
    expect(addressKey("::ffff:10.0.0.1")).toBe("10.0.0.1");
    expect(addressKey("10.0.0.1")).toBe("10.0.0.1");
  });

  it("refuses more streams from one address with a 429 in PocketBase's shape, and frees slots on close", async () => {
    for (let i = 0; i < 5; i++) await sse();
    const res = await server.fetch("/api/realtime");
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBeTruthy();
    expect(await res.json()).toEqual({
      status: 429,
      message: "Too many realtime connections from this address.",
      data: {},
    });
    open.shift()?.close();
    await eventually(() => server.basalt.app.realtime.size === 4, 3000, "a slot freed");
    await sse();
    await closeAll();
    expect(server.basalt.app.realtime.usageTotals).toEqual({ clients: 0, bytes: 0, addresses: 0 });
  });

  it("refuses a client's subscriptions past their total length (400) and an address's past its share (429)", async () => {
    const a = await sse();
    const many = Array.from({ length: 10 }, (_, i) =>
      withFilter("posts/*", `title != '${"x".repeat(500)}${i}'`),
    );
    for (const t of many) expect(t.length).toBeGreaterThan(580);
    for (const t of many) expect(t.length).toBeLessThan(660);
    const tooMuch = await subscribe(a.clientId, many);
    expect(tooMuch.status).toBe(400);
    expect(await tooMuch.json()).toMatchObject({
      status: 400,
      data: { subscriptions: { code: "validation_length_too_long" } },
    });
    // six of ~600 characters: two clients fit the address's 10,000, the third does not
    const fits = many.slice(0, 6);
    expect((await subscribe(a.clientId, fits)).status).toBe(204);
    const b = await sse();
    expect((await subscribe(b.clientId, fits)).status).toBe(204);
    const c = await sse();
    const over = await subscribe(c.clientId, fits);
    expect(over.status).toBe(429);
    expect((await over.json()) as object).toMatchObject({ status: 429, data: {} });
    // replacing subscriptions with shorter ones frees the share
    expect((await subscribe(a.clientId, ["posts/*"])).status).toBe(204);
    expect((await subscribe(c.clientId, fits)).status).toBe(204);
    await closeAll();
    expect(server.basalt.app.realtime.usageTotals.bytes).toBe(0);
  });

  it("refuses too many different options on one collection", async () => {
    const a = await sse();
    const topics = Array.from({ length: 21 }, (_, i) => withFilter("posts/*", `score != ${i}`));
    const res = await subscribe(a.clientId, topics);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      data: { subscriptions: { code: "validation_too_many_options" } },
    });
    expect((await subscribe(a.clientId, topics.slice(0, 20))).status).toBe(204);
    await closeAll();
  });

  it("shares one check between subscribers asking the same question, per identity only when the rule reads @request", async () => {
    const rt = server.basalt.app.realtime;
    const filter = withFilter("posts/*", "title != 'nope'");
    const tokens = [
      await userToken(server, await mkUser("u1"), "password-123"),
      await userToken(server, await mkUser("u2"), "password-123"),
    ];
    const streams: RawSse[] = [];
    const mineTopic = withFilter("mine/*", "title != 'nope'");
    for (let i = 0; i < 4; i++) {
      const s = await sse();
      streams.push(s);
      const token = i < 2 ? tokens[i] : undefined;
      expect((await subscribe(s.clientId, [filter, mineTopic], token)).status).toBe(204);
    }
    const before = rt.checksRun;
    await createPost("shared");
    // guests and users alike: one query for `score >= 0 && title != 'nope'`
    expect(rt.checksRun - before).toBe(1);
    for (const s of streams) expect((await s.next(filter)).data).toMatchObject({ action: "create" });
    const mid = rt.checksRun;
    const res = await server.fetch("/api/collections/mine/records", {
      method: "POST",
      json: { title: "m" },
      token: su,
    });
    expect(res.status).toBe(200);
    await rt.drain();
    // `@request.auth.id != ''` is asked per identity: user 1, user 2, and the guests once
    expect(rt.checksRun - mid).toBe(3);
    for (const s of streams.slice(0, 2))
      expect((await s.next(mineTopic)).data).toMatchObject({ action: "create" });
    expect(streams.slice(2).map((s) => s.frames.some((f) => f.event === mineTopic))).toEqual([false, false]);
    await closeAll();
  });

  it("runs at most the budget of checks per event, disconnecting the clients that ask for the most", async () => {
    const rt = server.basalt.app.realtime;
    const light = await sse();
    const lightTopic = withFilter("posts/*", "score > 0");
    expect((await subscribe(light.clientId, [lightTopic])).status).toBe(204);
    const heavy = await sse();
    const topics = Array.from({ length: 15 }, (_, i) => withFilter("posts/*", `score != ${i + 100}`));
    expect((await subscribe(heavy.clientId, topics)).status).toBe(204);
    const before = rt.checksRun;
    await createPost("budget", 5);
    expect(rt.checksRun - before).toBeLessThanOrEqual(12);
    const frame = await light.next(lightTopic);
    expect((frame.data as { record: { title: string } }).record.title).toBe("budget");
    await heavy.closed;
    expect(heavy.frames.filter((f) => f.event.startsWith("posts/*"))).toEqual([]);
    await closeAll();
  });

  it("caps streams on the instance", async () => {
    const more = await startServer({ realtimeMaxClients: 2, realtimeMaxClientsPerIp: 10 });
    try {
      const a = await openSse(more.url);
      const b = await openSse(more.url);
      const res = await more.fetch("/api/realtime");
      expect(res.status).toBe(429);
      expect(((await res.json()) as { message: string }).message).toBe(
        "Too many realtime connections. Try again later.",
      );
      a.close();
      b.close();
    } finally {
      await more.stop();
    }
  });
});

let users = 0;
async function mkUser(name: string): Promise<string> {
  const email = `${name}-${++users}@example.com`;
  await createUser(server, email, "password-123");
  return email;
}
