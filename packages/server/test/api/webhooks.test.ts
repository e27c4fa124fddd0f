import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";
import { waitFor } from "../harness/wait.js";

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local receiver: records each request; `/fail-once/…` answers 500 the first time; `/to-metadata` redirects. */
async function startReceiver(): Promise<{ url: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const failed = new Set<string>();
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers, body });
      if (req.url === "/to-metadata") {
        res.writeHead(307, { location: "http://169.254.169.254/latest/meta-data/" }).end();
      } else if (req.url?.startsWith("/fail-once") && !failed.has(req.url)) {
        failed.add(req.url);
        res.writeHead(500).end("not now");
      } else {
        res.writeHead(200, { "content-type": "text/plain" }).end(`ok ${"x".repeat(5000)}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function verify(secret: string, r: Received): any {
  const headers = {
    "webhook-id": String(r.headers["webhook-id"]),
    "webhook-timestamp": String(r.headers["webhook-timestamp"]),
    "webhook-signature": String(r.headers["webhook-signature"]),
  };
  return new StandardWebhook(secret).verify(r.body, headers);
}

let server: TestServer;
let token: string;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startServer({ jobsPollMs: 20, webhookAllowedTargets: ["loopback"] });
  token = await superuserToken(server);
});
afterAll(async () => {
  await server.stop();
  await receiver.close();
});

const api = (path: string, method = "GET", json?: unknown) => server.fetch(path, { method, json, token });

async function createHook(body: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const res = await api("/api/webhooks", "POST", body);
  expect(res.status).toBe(200);
  return res.json() as Promise<{ id: string; secret: string }>;
}

async function createUser(name: string, email: string): Promise<string> {
  const rec = await server
    .sdk()
    .collection("users")
    .create({ email, name, password: "password-123", passwordConfirm: "password-123" });
  return rec.id;
}

describe("outbound webhooks", () => {
  it("are managed by superusers only, with validated input", async () => {
    expect((await server.fetch("/api/webhooks")).status).toBe(401);
    expect((await server.fetch("/api/webhooks", { method: "POST", json: {} })).status).toBe(401);
    const bad = await api("/api/webhooks", "POST", {
      url: "ftp://example.com",
      collections: ["nope"],
      events: ["explode"],
    });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { data: Record<string, { code: string }> };
    expect(Object.keys(body.data).sort()).toEqual(["collections", "events", "url"]);
    const badRule = await api("/api/webhooks", "POST", {
      url: `${receiver.url}/x`,
      collections: ["users"],
      events: ["create"],
      filter: "nofield = 1",
    });
    expect(badRule.status).toBe(400);
    expect(((await badRule.json()) as { data: object }).data).toHaveProperty("filter");
  });

  it("sends matching record events signed per Standard Webhooks, with only the chosen fields", async () => {
    const hook = await createHook({
      url: `${receiver.url}/users`,
      collections: ["users"],
      events: ["create", "delete"],
      filter: 'name != "skip me"',
      fields: ["name"],
    });
    expect(hook.secret).toMatch(/^whsec_/);
    await createUser("skip me", "skip@example.com");
    const id = await createUser("Ada", "ada@example.com");
    await waitFor(() => receiver.received.some((r) => r.path === "/users"), "the delivery");
    const mine = receiver.received.filter((r) => r.path === "/users");
    expect(mine).toHaveLength(1);
    const event = verify(hook.secret, mine[0]);
    expect(event).toMatchObject({
      type: "record.create",
      data: { collectionName: "users", action: "create" },
    });
    expect(event.data.record).toEqual({
      id,
      name: "Ada",
      collectionId: event.data.collectionId,
      collectionName: "users",
    });
    // a tampered body fails verification
    expect(() => verify(hook.secret, { ...mine[0], body: mine[0].body.replace("Ada", "Eve") })).toThrow();
    const su = server.sdk();
    su.authStore.save(token);
    await su.collection("users").delete(id);
    await waitFor(
      () => receiver.received.filter((r) => r.path === "/users").length === 2,
      "the delete delivery",
    );
    expect(verify(hook.secret, receiver.received.filter((r) => r.path === "/users")[1]).type).toBe(
      "record.delete",
    );

    const log = (await (await api(`/api/webhooks/${hook.id}/deliveries`)).json()) as {
      totalItems: number;
      items: { status: string; responseStatus: number; attempts: number; responseExcerpt: string }[];
    };
    expect(log.totalItems).toBe(2);
    expect(log.items[0]).toMatchObject({ status: "success", responseStatus: 200, attempts: 1 });
    // the response excerpt is capped
    expect(log.items[0].responseExcerpt.length).toBeLessThanOrEqual(1024);
    expect(log.items[0].responseExcerpt.startsWith("ok x")).toBe(true);
    const stats = (await (await api("/api/jobs/stats")).json()) as { webhooks: { delivered: number } };
    expect(stats.webhooks.delivered).toBeGreaterThanOrEqual(2);
  });

  it("sends nothing for a write that rolls back", async () => {
    const hook = await createHook({
      url: `${receiver.url}/rollback`,
      collections: ["users"],
      events: ["create"],
    });
    const values = (name: string) => ({
      email: `${name.toLowerCase()}@example.com`,
      name,
      password: "password-123",
      passwordConfirm: "password-123",
    });
    await expect(
      server.basalt.runInTransaction(async (tx) => {
        await tx.create("users", values("Ghost"));
        throw new Error("stop");
      }),
    ).rejects.toThrow("stop");
    // a committed write after it is delivered; the rolled-back one never is
    await server.basalt.runInTransaction((tx) => tx.create("users", values("Kept")));
    await waitFor(() => receiver.received.some((r) => r.path === "/rollback"), "the delivery");
    const mine = receiver.received.filter((r) => r.path === "/rollback");
    expect(mine.map((r) => verify(hook.secret, r).data.record.name)).toEqual(["Kept"]);
    const list = (await (await api(`/api/webhooks/${hook.id}/deliveries`)).json()) as { totalItems: number };
    expect(list.totalItems).toBe(1);
  });

  it("sends a signed auth event for each completed sign-in, not for failures or token refreshes", async () => {
    const hook = await createHook({
      url: `${receiver.url}/signins`,
      collections: ["users"],
      events: ["auth"],
      fields: ["name"],
    });
    const id = await createUser("Grace", "grace@example.com");
    const pb = server.sdk();
    await expect(
      pb.collection("users").authWithPassword("grace@example.com", "wrong-password-1"),
    ).rejects.toMatchObject({ status: 400 });
    await pb.collection("users").authWithPassword("grace@example.com", "password-123");
    await pb.collection("users").authRefresh();
    await waitFor(() => receiver.received.some((r) => r.path === "/signins"), "the auth delivery");
    // give a stray refresh or failure delivery time to show up before counting
    await new Promise((r) => setTimeout(r, 500));
    const mine = receiver.received.filter((r) => r.path === "/signins");
    expect(mine).toHaveLength(1);
    const event = verify(hook.secret, mine[0]);
    expect(event).toMatchObject({
      type: "record.auth",
      data: { collectionName: "users", action: "auth", authMethod: "password" },
    });
    expect(event.data.record).toEqual({
      id,
      name: "Grace",
      collectionId: event.data.collectionId,
      collectionName: "users",
    });
    expect(mine[0].body).not.toContain("tokenKey");
    // the create of the account was not subscribed to
    expect(mine.some((r) => verify(hook.secret, r).type === "record.create")).toBe(false);
  });

  it("retries a failed delivery with the same message id, and replays one on demand", async () => {
    const hook = await createHook({
      url: `${receiver.url}/fail-once/a`,
      collections: ["users"],
      events: ["update"],
    });
    const id = await createUser("Bo", "bo@example.com");
    const su = server.sdk();
    su.authStore.save(token);
    await su.collection("users").update(id, { name: "Bo 2" });
    const deliveries = async () =>
      (
        (await (await api(`/api/webhooks/${hook.id}/deliveries`)).json()) as {
          items: { id: string; status: string; attempts: number; error: string }[];
        }
      ).items;
    const [done] = await waitFor(async () => {
      const items = await deliveries();
      return items[0]?.status === "success" ? items : null;
    }, "the retried delivery");
    expect(done.attempts).toBe(2);
    const hits = () => receiver.received.filter((r) => r.path === "/fail-once/a");
    expect(hits()).toHaveLength(2);
    expect(hits()[0].headers["webhook-id"]).toBe(hits()[1].headers["webhook-id"]);
    expect(verify(hook.secret, hits()[1]).data.record.name).toBe("Bo 2");

    expect((await api(`/api/webhooks/deliveries/${done.id}/replay`, "POST")).status).toBe(204);
    await waitFor(() => hits().length === 3, "the replay");
    expect(hits()[2].headers["webhook-id"]).toBe(done.id);
    expect((await api("/api/webhooks/deliveries/missing/replay", "POST")).status).toBe(404);
  });

  it("refuses a redirect to a metadata address even with loopback allowed", async () => {
    const hook = await createHook({
      url: `${receiver.url}/to-metadata`,
      collections: ["users"],
      events: ["create"],
    });
    await createUser("Cy", "cy@example.com");
    const item = await waitFor(async () => {
      const log = (await (await api(`/api/webhooks/${hook.id}/deliveries`)).json()) as {
        items: { status: string; error: string }[];
      };
      return log.items[0]?.status === "failed" ? log.items[0] : null;
    }, "the refused delivery");
    expect(item.error).toContain("link-local");
  });

  it("can be paused, updated and deleted", async () => {
    const hook = await createHook({
      url: `${receiver.url}/paused`,
      collections: ["users"],
      events: ["create"],
    });
    const patched = await api(`/api/webhooks/${hook.id}`, "PATCH", { active: false, name: "paused" });
    expect(patched.status).toBe(200);
    const shown = (await patched.json()) as Record<string, unknown>;
    expect(shown).toMatchObject({ active: false, name: "paused" });
    // the signing secret is shown when made only (issue 18): not in updates, reads or the list
    expect(shown).not.toHaveProperty("secret");
    expect(await (await api(`/api/webhooks/${hook.id}`)).json()).not.toHaveProperty("secret");
    const listed = (await (await api("/api/webhooks")).json()) as Record<string, unknown>[];
    expect(listed.length).toBeGreaterThan(0);
    for (const h of listed) expect(h).not.toHaveProperty("secret");
    await createUser("Di", "di@example.com");
    expect((await api(`/api/webhooks/${hook.id}`, "DELETE")).status).toBe(204);
    expect((await api(`/api/webhooks/${hook.id}`)).status).toBe(404);
    expect(receiver.received.some((r) => r.path === "/paused")).toBe(false);
  });
});

describe("webhook secret rotation", () => {
  it("shows a new secret once; deliveries are signed with it, not the old one", async () => {
    const hook = await createHook({
      url: `${receiver.url}/rotated`,
      collections: ["users"],
      events: ["create"],
    });
    expect((await server.fetch(`/api/webhooks/${hook.id}/secret`, { method: "POST" })).status).toBe(401);
    expect((await api("/api/webhooks/nope/secret", "POST")).status).toBe(404);
    const rotated = await api(`/api/webhooks/${hook.id}/secret`, "POST");
    expect(rotated.status).toBe(200);
    const { secret } = (await rotated.json()) as { secret: string };
    expect(secret).toMatch(/^whsec_/);
    expect(secret).not.toBe(hook.secret);
    await createUser("Rotated", "rotated@example.com");
    const got = await waitFor(() => receiver.received.find((r) => r.path === "/rotated"), "the delivery");
    expect(verify(secret, got).data.record.name).toBe("Rotated");
    expect(() => verify(hook.secret, got)).toThrow();
  });
});

describe("webhook targets without loopback allowed", () => {
  it("refuses loopback and private targets after resolving them", async () => {
    const strict = await startServer({ jobsPollMs: 20 });
    try {
      const t = await superuserToken(strict);
      for (const url of [
        `${receiver.url}/strict`,
        "http://localhost:9/strict",
        "http://[::ffff:127.0.0.1]:9/",
      ]) {
        const res = await strict.fetch("/api/webhooks", {
          method: "POST",
          token: t,
          json: { url, collections: ["users"], events: ["create"] },
        });
        expect(res.status).toBe(200);
      }
      await strict.sdk().collection("users").create({
        email: "ed@example.com",
        password: "password-123",
        passwordConfirm: "password-123",
      });
      const hooks = (await (await strict.fetch("/api/webhooks", { token: t })).json()) as { id: string }[];
      for (const h of hooks) {
        const item = await waitFor(async () => {
          const log = (await (
            await strict.fetch(`/api/webhooks/${h.id}/deliveries`, { token: t })
          ).json()) as {
            items: { status: string; error: string }[];
          };
          return log.items[0]?.status === "failed" ? log.items[0] : null;
        }, "the refused delivery");
        expect(item.error).toContain("loopback");
      }
      expect(receiver.received.some((r) => r.path === "/strict")).toBe(false);
    } finally {
      await strict.stop();
    }
  });
});
