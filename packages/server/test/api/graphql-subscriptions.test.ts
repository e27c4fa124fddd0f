import { createClient } from "graphql-sse";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Blog, setupBlog } from "../harness/fixtures/blog.js";
import { gql } from "../harness/graphql.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";
import { installEventSource } from "../harness/sse.js";

// Subscriptions over GraphQL over SSE (issue 16): the same per-subscriber checks as /api/realtime, side by
// side with the SDK's realtime subscription.

let server: TestServer;
let blog: Blog;
let suToken: string;

beforeAll(async () => {
  installEventSource();
  server = await startServer();
  blog = await setupBlog(server);
  suToken = await superuserToken(server);
});
afterAll(() => server.stop());

interface Event {
  action: string;
  record: Record<string, unknown>;
}

/** Subscribes over /api/graphql/stream and collects the events (and the first error). */
function subscribe(query: string, token?: string, variables?: Record<string, unknown>) {
  const client = createClient({
    url: `${server.url}/api/graphql/stream`,
    headers: token ? { authorization: token } : {},
    retryAttempts: 0,
  });
  const events: Event[] = [];
  const errors: unknown[] = [];
  let done = false;
  const stop = client.subscribe<Record<string, Event>>(
    { query, variables },
    {
      next: (r) => {
        if (r.errors) errors.push(...r.errors);
        const v = r.data && Object.values(r.data)[0];
        if (v) events.push(v);
      },
      error: (e) => {
        errors.push(e);
        done = true;
      },
      complete: () => {
        done = true;
      },
    },
  );
  return {
    events,
    errors,
    isDone: () => done,
    close: () => {
      stop();
      client.dispose();
    },
  };
}

async function until(fn: () => boolean, ms = 3000) {
  const end = Date.now() + ms;
  while (!fn() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

async function settled() {
  await server.basalt.app.realtime.drain();
  await new Promise((r) => setTimeout(r, 150));
}

describe("GraphQL subscriptions", () => {
  it("deliver the changes each subscriber may see, as the SDK's realtime does", async () => {
    const q = "subscription { watchPosts { action record { id title published author } } }";
    const guest = subscribe(q);
    const alice = subscribe(q, blog.aliceToken);
    const admin = subscribe(q, suToken);
    const sdkGuest: Event[] = [];
    const unsubscribe = await blog.guest.collection("posts").subscribe("*", (e) => {
      sdkGuest.push(e as unknown as Event);
    });
    await until(() => server.basalt.app.realtime.size >= 4);
    const priv = await blog.alice
      .collection("posts")
      .create({ title: "Alice private", author: blog.aliceId });
    const pub = await blog.alice
      .collection("posts")
      .create({ title: "Alice public", author: blog.aliceId, published: true });
    await blog.alice.collection("posts").update(pub.id, { title: "Alice public 2" });
    await blog.alice.collection("posts").delete(priv.id);
    await settled();
    await until(() => admin.events.length >= 4);
    const summary = (evs: Event[]) => evs.map((e) => `${e.action}:${e.record.title}`);
    expect(summary(admin.events)).toEqual([
      "create:Alice private",
      "create:Alice public",
      "update:Alice public 2",
      "delete:Alice private",
    ]);
    expect(summary(alice.events)).toEqual(summary(admin.events));
    expect(summary(guest.events)).toEqual(["create:Alice public", "update:Alice public 2"]);
    expect(summary(guest.events)).toEqual(summary(sdkGuest));
    for (const s of [guest, alice, admin]) {
      expect(s.errors).toEqual([]);
      s.close();
    }
    await unsubscribe();
  });

  it("filter one record and bound filters, and load relations per event", async () => {
    const post = await blog.alice
      .collection("posts")
      .create({ title: "Watched", author: blog.aliceId, published: true });
    const one = subscribe(
      "subscription($id: ID) { watchPosts(id: $id) { action record { title expand { author { email } } } } }",
      blog.aliceToken,
      { id: post.id },
    );
    const filtered = subscribe(
      'subscription($p: JSON) { watchPosts(filter: "title = {:t}", params: $p) { record { title } } }',
      undefined,
      { p: { t: "Match me" } },
    );
    await until(() => server.basalt.app.realtime.size >= 2);
    await blog.alice.collection("posts").update(post.id, { title: "Watched 2" });
    await blog.alice.collection("posts").create({ title: "Other", author: blog.aliceId, published: true });
    await blog.alice.collection("posts").create({ title: "Match me", author: blog.aliceId, published: true });
    await settled();
    await until(() => one.events.length >= 1 && filtered.events.length >= 1);
    expect(one.events).toEqual([
      {
        action: "update",
        record: { title: "Watched 2", expand: { author: { email: "alice@example.com" } } },
      },
    ]);
    expect(filtered.events).toEqual([{ record: { title: "Match me" } }]);
    one.close();
    filtered.close();
  });

  it("refuse queries and mutations on the stream and subscriptions on /api/graphql", async () => {
    const onPost = await gql(server, "subscription { watchPosts { action } }");
    expect(onPost.status).toBe(405);
    const s = subscribe('mutation { createTags(data: {label: "x"}) { id } }', suToken);
    await until(() => s.isDone() || s.errors.length > 0);
    expect(JSON.stringify(s.errors)).toMatch(/NetworkError/);
    const raw = await server.fetch("/api/graphql/stream", {
      method: "POST",
      headers: { accept: "text/event-stream" },
      json: { query: 'mutation { createTags(data: {label: "x"}) { id } }' },
      token: suToken,
    });
    expect(raw.status).toBe(405);
    const body = (await raw.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0].extensions.code).toBe("OPERATION_NOT_ALLOWED");
    s.close();
    const bad = subscribe("subscription { watchNothing { action } }");
    await until(() => bad.isDone() || bad.errors.length > 0);
    expect(bad.errors.length).toBeGreaterThan(0);
    bad.close();
    expect((await blog.admin.collection("tags").getList(1, 1)).totalItems).toBe(0);
  });

  it("end with the stream, freeing the realtime client", async () => {
    const before = server.basalt.app.realtime.size;
    const s = subscribe("subscription { watchComments { action } }");
    await until(() => server.basalt.app.realtime.size > before);
    expect(server.basalt.app.realtime.size).toBe(before + 1);
    s.close();
    await until(() => server.basalt.app.realtime.size === before);
    expect(server.basalt.app.realtime.size).toBe(before);
  });
});
