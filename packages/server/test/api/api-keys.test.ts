import PocketBase from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase, testStore } from "../harness/dialects.js";
import { createUser, userToken } from "../harness/fixtures/users.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";
import { waitFor } from "../harness/wait.js";

// Issue 18, item 5: API keys act as a chosen auth record (rules apply unchanged), optionally narrowed to a
// scope of collections × actions, with expiry and revocation; shown once, stored hashed.

let server: TestServer;
let su: string;
let alice: string;
let bob: string;

const api = (path: string, method = "GET", json?: unknown, token = su) =>
  server.fetch(path, { method, json, token });

async function makeKey(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const res = await api("/api/keys", "POST", { name: "test", collection: "users", record: alice, ...body });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { id: string; key: string };
}

const withKey = (key: string, path: string, init: { method?: string; json?: unknown } = {}) =>
  server.fetch(path, { ...init, token: `Bearer ${key}` });

beforeAll(async () => {
  server = await startServer();
  su = await superuserToken(server);
  alice = await createUser(server, "alice@example.com", "alice-password-1");
  bob = await createUser(server, "bob@example.com", "bob-password-1");
  const ownerOnly = 'owner = @request.auth.id && @request.auth.collectionName = "users"';
  for (const body of [
    {
      name: "posts",
      type: "base",
      fields: [
        { name: "title", type: "text" },
        { name: "owner", type: "relation", collectionId: "_pb_users_auth_", maxSelect: 1 },
      ],
      listRule: ownerOnly,
      viewRule: ownerOnly,
      createRule: ownerOnly,
      updateRule: ownerOnly,
      deleteRule: ownerOnly,
    },
    { name: "notes", type: "base", fields: [{ name: "text", type: "text" }], listRule: "", viewRule: "" },
  ]) {
    const res = await api("/api/collections", "POST", body);
    expect(res.status, await res.clone().text()).toBe(200);
  }
  for (const [title, owner] of [
    ["alice's", alice],
    ["bob's", bob],
  ]) {
    expect((await api("/api/collections/posts/records", "POST", { title, owner })).status).toBe(200);
  }
  expect((await api("/api/collections/notes/records", "POST", { text: "public" })).status).toBe(200);
});
afterAll(async () => {
  await server.stop();
});

describe("API keys", () => {
  it("are made by superusers only, from validated input, and the secret is shown once", async () => {
    expect((await server.fetch("/api/keys", { method: "POST", json: {} })).status).toBe(401);
    const user = await userToken(server, "alice@example.com", "alice-password-1");
    expect((await api("/api/keys", "POST", { name: "x" }, user)).status).toBe(403);
    const bad = await api("/api/keys", "POST", {
      name: "",
      collection: "_superusers",
      scope: { posts: ["list", "explode"] },
      expires: "2001-01-01 00:00:00Z",
    });
    expect(bad.status).toBe(400);
    const errors = ((await bad.json()) as { data: object }).data;
    expect(Object.keys(errors).sort()).toEqual(["collection", "expires", "name", "scope"]);
    const noRecord = await api("/api/keys", "POST", { name: "x", collection: "users", record: "nope" });
    expect(((await noRecord.json()) as { data: object }).data).toHaveProperty("record");
    expect((await api("/api/keys")).status).toBe(200);
    expect(((await (await api("/api/keys")).json()) as unknown[]).length).toBe(0);

    const made = await makeKey({ name: "reporting", scope: { posts: ["list", "view"] } });
    expect(made.key).toMatch(/^bsk_[a-z0-9]{15}_[\w-]{43}$/);
    expect(made).toMatchObject({
      name: "reporting",
      collectionName: "users",
      recordId: alice,
      scope: { posts: ["list", "view"] },
      expires: "",
      revoked: "",
    });
    // bsk_<id>_<secret>: the id has no "_", the base64url secret may
    const secret = made.key.slice(made.key.indexOf("_", 4) + 1);
    for (const shown of [
      await (await api("/api/keys")).text(),
      await (await api(`/api/keys/${made.id}`)).text(),
    ]) {
      expect(shown).toContain(made.id);
      expect(shown).not.toContain(secret);
      expect(shown).not.toContain('"key"');
      expect(shown).not.toContain("hash");
    }
    // stored as a hash only
    const row = await server.basalt.app.db.get<Record<string, string>>(
      "SELECT * FROM _api_keys WHERE id = ?",
      [made.id],
    );
    expect(JSON.stringify(row)).not.toContain(secret);
  });

  it("act as the bound record: its rules apply, with or without `Bearer`, over fetch and the SDK", async () => {
    const { key } = await makeKey({});
    const list = await withKey(key, "/api/collections/posts/records");
    expect(list.status).toBe(200);
    expect(((await list.json()) as { items: { title: string }[] }).items.map((p) => p.title)).toEqual([
      "alice's",
    ]);
    const raw = await server.fetch("/api/collections/posts/records", { token: key });
    expect(((await raw.json()) as { totalItems: number }).totalItems).toBe(1);

    // the SDK sends its authStore token as the raw Authorization header
    const pb = new PocketBase(server.url);
    pb.autoCancellation(false);
    pb.authStore.save(key);
    const created = await pb.collection("posts").create({ title: "by key", owner: alice });
    expect(created.owner).toBe(alice);
    await expect(pb.collection("posts").create({ title: "as bob", owner: bob })).rejects.toMatchObject({
      status: 400,
    });
    const bobs = (await (
      await api("/api/collections/posts/records?filter=owner%3D%22" + bob + "%22")
    ).json()) as {
      items: { id: string }[];
    };
    await expect(pb.collection("posts").getOne(bobs.items[0].id)).rejects.toMatchObject({ status: 404 });
    await pb.collection("posts").delete(created.id);

    // a key is never a superuser, so it cannot manage keys; it is not a session either
    expect((await withKey(key, "/api/keys")).status).toBe(403);
    expect((await withKey(key, "/api/keys", { method: "POST", json: { name: "more" } })).status).toBe(403);
    expect((await withKey(key, "/api/collections/users/auth-refresh", { method: "POST" })).status).toBe(403);
    expect((await withKey(key, "/api/files/token", { method: "POST" })).status).toBe(403);
    expect(
      (await withKey(key, "/api/realtime", { method: "POST", json: { clientId: "x", subscriptions: [] } }))
        .status,
    ).toBe(403);
  });

  it("refuse every collection and action outside their scope, in REST, batch and expand", async () => {
    const { key } = await makeKey({ scope: { posts: ["list"] } });
    const list = await withKey(key, "/api/collections/posts/records?expand=owner");
    expect(list.status).toBe(200);
    const items = ((await list.json()) as { items: { id: string; expand?: object }[] }).items;
    expect(items).toHaveLength(1);
    // users are not in the scope: the relation is not expanded
    expect(items[0].expand).toBeUndefined();
    expect((await withKey(key, `/api/collections/posts/records/${items[0].id}`)).status).toBe(403);
    expect(
      (
        await withKey(key, "/api/collections/posts/records", {
          method: "POST",
          json: { title: "t", owner: alice },
        })
      ).status,
    ).toBe(403);
    expect((await withKey(key, "/api/collections/notes/records")).status).toBe(403);
    expect((await withKey(key, `/api/collections/users/records/${alice}`)).status).toBe(403);
    // GraphQL goes through the same records service
    const gql = async (query: string) =>
      JSON.stringify(await (await withKey(key, "/api/graphql", { method: "POST", json: { query } })).json());
    expect(await gql("{ listPosts { totalItems } }")).toContain('"totalItems":1');
    expect(await gql("{ listNotes { totalItems } }")).toContain("scope");

    // the same key with users:view expands the owner
    const { key: wider } = await makeKey({ scope: { posts: ["list"], users: ["view"] } });
    const expanded = await withKey(wider, "/api/collections/posts/records?expand=owner");
    expect(
      ((await expanded.json()) as { items: { expand?: { owner?: { id: string } } }[] }).items[0].expand?.owner
        ?.id,
    ).toBe(alice);

    expect((await api("/api/settings", "PATCH", { batch: { enabled: true } })).status).toBe(200);
    const batch = await withKey(key, "/api/batch", {
      method: "POST",
      json: {
        requests: [
          { method: "POST", url: "/api/collections/posts/records", body: { title: "b", owner: alice } },
        ],
      },
    });
    expect(batch.status).toBe(400);
    expect(JSON.stringify(await batch.json())).toContain("scope");
  });

  it("stop working when expired, revoked or deleted (401), and record their last use", async () => {
    const soon = new Date(Date.now() + 1500).toISOString().replace("T", " ");
    const expiring = await makeKey({ expires: soon });
    expect((await withKey(expiring.key, "/api/collections/posts/records")).status).toBe(200);
    await waitFor(async () => {
      const k = (await (await api(`/api/keys/${expiring.id}`)).json()) as { lastUsed: string };
      return k.lastUsed !== "";
    }, "the last use");
    await new Promise((r) => setTimeout(r, Date.parse(soon.replace(" ", "T")) - Date.now() + 50));
    expect((await withKey(expiring.key, "/api/collections/posts/records")).status).toBe(401);

    const revoked = await makeKey({});
    expect((await withKey(revoked.key, "/api/collections/notes/records")).status).toBe(200);
    const answer = await api(`/api/keys/${revoked.id}/revoke`, "POST");
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { revoked: string }).revoked).not.toBe("");
    const after = await withKey(revoked.key, "/api/collections/notes/records");
    expect(after.status).toBe(401);
    expect(((await after.json()) as { message: string }).message).toMatch(/API key/);

    const deleted = await makeKey({});
    expect((await api(`/api/keys/${deleted.id}`, "DELETE")).status).toBe(204);
    expect((await withKey(deleted.key, "/api/collections/notes/records")).status).toBe(401);
    expect((await api(`/api/keys/${deleted.id}`)).status).toBe(404);

    const live = await makeKey({});
    const tampered = `${live.key.slice(0, -1)}${live.key.endsWith("A") ? "B" : "A"}`;
    expect((await withKey(tampered, "/api/collections/notes/records")).status).toBe(401);
    expect((await withKey("bsk_nope", "/api/collections/notes/records")).status).toBe(401);
    // anything else that is not a valid token stays a guest, as in PocketBase
    expect((await withKey("not-a-token", "/api/collections/notes/records")).status).toBe(200);
  });

  it("name the key in the request log", async () => {
    const { id, key } = await makeKey({});
    expect((await withKey(key, "/api/collections/notes/records?logged=1")).status).toBe(200);
    await waitFor(async () => {
      const logs = (await (
        await api("/api/logs?filter=" + encodeURIComponent('data.url ~ "logged=1"'))
      ).json()) as {
        items?: { data: { apiKey?: string } }[];
      };
      return logs.items?.some((l) => l.data.apiKey === id);
    }, "the request log entry");
  });
});

describe.runIf(testStore() === "postgres")("API keys on two instances", () => {
  let db: TestDatabase;
  const both: TestServer[] = [];
  afterAll(async () => {
    for (const s of both) await s.stop();
    await db?.drop();
  });

  it("a key revoked on one instance is refused by the other at once", async () => {
    db = await createTestDatabase();
    for (let i = 0; i < 2; i++)
      both.push(await startServer({ dbUrl: db.url, dbMaxConnections: 5 }, { store: "postgres" }));
    const [a, b] = both;
    const token = await superuserToken(a);
    const user = await createUser(a, "carol@example.com", "carol-password-1");
    const made = await a.fetch("/api/keys", {
      method: "POST",
      json: { name: "shared", collection: "users", record: user },
      token,
    });
    const { id, key } = (await made.json()) as { id: string; key: string };
    expect((await b.fetch(`/api/collections/users/records/${user}`, { token: `Bearer ${key}` })).status).toBe(
      200,
    );
    expect((await a.fetch(`/api/keys/${id}/revoke`, { method: "POST", token })).status).toBe(200);
    expect((await b.fetch(`/api/collections/users/records/${user}`, { token: `Bearer ${key}` })).status).toBe(
      401,
    );
    expect((await a.fetch(`/api/collections/users/records/${user}`, { token: `Bearer ${key}` })).status).toBe(
      401,
    );
  });
});
