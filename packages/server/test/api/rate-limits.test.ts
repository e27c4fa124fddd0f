import type PocketBase from "pocketbase";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rateLimitLabels } from "../../src/api/rate-limit.js";
import { insertAuthRecord } from "../harness/fixtures/auth-records.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

// Rate limits as PocketBase's settings define them (issue 11): off by default, rules with labels and
// audiences, the most specific rule winning, keyed on the client IP; only PocketBase's fixed guards apply
// whatever the settings say.

let server: TestServer;
let su: PocketBase;
beforeEach(async () => {
  server = await startServer(
    {},
    {
      beforeListen: (basalt) => {
        // a custom route, as hooks will add them, with a label of its own
        basalt.server.get("/api/hello", { config: rateLimitLabels("hello") }, async () => ({ hi: 1 }));
      },
    },
  );
  await insertAuthRecord(server, "users", {
    email: "ann@example.com",
    password: "ann-password-1",
    verified: true,
  });
  su = await superuserSdk(server);
  await su.collections.create({
    name: "posts",
    fields: [{ name: "title", type: "text" }],
    createRule: "",
    listRule: "",
  });
  await su.collections.create({ name: "notes", fields: [{ name: "title", type: "text" }], createRule: "" });
});
afterEach(() => server.stop());

const post = (path: string, json: unknown, headers?: Record<string, string>) =>
  server.fetch(`/api/collections/users/${path}`, { method: "POST", json, headers });
const signIn = (password: string, headers?: Record<string, string>) =>
  post("auth-with-password", { identity: "ann@example.com", password }, headers);
const create = (collection: string, headers?: Record<string, string>) =>
  server.fetch(`/api/collections/${collection}/records`, { method: "POST", json: { title: "t" }, headers });

async function expect429(res: Response) {
  expect(res.status).toBe(429);
  expect(await res.json()).toEqual({ status: 429, message: "Too Many Requests.", data: {} });
}

async function statuses(n: number, send: () => Promise<Response>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send()).status);
  return out;
}

function rules(...list: { label: string; maxRequests: number; duration?: number; audience?: string }[]) {
  return su.settings.update({
    rateLimits: { enabled: true, rules: list.map((r) => ({ duration: 60, audience: "", ...r })) },
  });
}

describe("rate limits off (the default)", () => {
  it("never answer 429: many wrong passwords do not lock the owner out", async () => {
    const settings = await su.settings.getAll();
    expect(settings.rateLimits).toMatchObject({
      enabled: false,
      excludedIPs: [],
      rules: [
        { label: "*:auth", audience: "", duration: 3, maxRequests: 2 },
        { label: "*:create", audience: "", duration: 5, maxRequests: 20 },
        { label: "/api/batch", audience: "", duration: 1, maxRequests: 3 },
        { label: "/api/", audience: "", duration: 10, maxRequests: 300 },
      ],
    });
    expect(new Set(await statuses(25, () => signIn("wrong")))).toEqual(new Set([400]));
    expect((await signIn("ann-password-1")).status).toBe(200);
    expect(
      new Set(await statuses(25, () => post("request-password-reset", { email: "x@example.com" }))),
    ).toEqual(new Set([204]));
  });
});

describe("rate limits on", () => {
  it("apply PocketBase's default rule set: *:auth allows 2 sign-ins per 3 s per collection route", async () => {
    await su.settings.update({ rateLimits: { enabled: true } });
    expect(await statuses(2, () => signIn("wrong"))).toEqual([400, 400]);
    await expect429(await signIn("ann-password-1"));
    // another auth route of the collection counts on its own
    expect((await post("auth-with-otp", { otpId: "x", password: "1" })).status).not.toBe(429);
  });

  it("pick the most specific rule: collection:action before *:action before paths", async () => {
    await rules(
      { label: "posts:create", maxRequests: 1 },
      { label: "*:create", maxRequests: 3 },
      { label: "/api/", maxRequests: 100 },
    );
    expect(await statuses(2, () => create("posts"))).toEqual([200, 429]);
    expect(await statuses(4, () => create("notes"))).toEqual([200, 200, 200, 429]);
    expect((await server.fetch("/api/health")).status).toBe(200);
  });

  it("match exact paths, METHOD paths and path prefixes ending in /", async () => {
    await rules({ label: "GET /api/health", maxRequests: 1 }, { label: "/api/collections/", maxRequests: 2 });
    expect(await statuses(2, () => server.fetch("/api/health"))).toEqual([200, 429]);
    expect((await server.fetch("/api/health", { method: "HEAD" })).status).toBe(200);
    const list = () => server.fetch("/api/collections/posts/records");
    // records routes count per collection and route under a path rule, as PocketBase's do
    expect(await statuses(3, list)).toEqual([200, 200, 429]);
    // notes has its own counter (its list rule is locked: 403, not 429)
    expect((await server.fetch("/api/collections/notes/records")).status).toBe(403);
  });

  it("apply @guest and @auth rules to their audience only; superusers are never limited", async () => {
    await rules(
      { label: "GET /api/collections/posts/records", maxRequests: 1, audience: "@guest" },
      { label: "posts:list", maxRequests: 2, audience: "@auth" },
    );
    const user = server.sdk();
    await user.collection("users").authWithPassword("ann@example.com", "ann-password-1");
    const token = user.authStore.token;
    const list = (t?: string) => server.fetch("/api/collections/posts/records", { token: t });
    expect(await statuses(2, () => list())).toEqual([200, 429]);
    expect(await statuses(3, () => list(token))).toEqual([200, 200, 429]);
    for (let i = 0; i < 5; i++) await su.collection("posts").getList(1, 1);
  });

  it("count each custom-route label, and batch items under their collection's labels", async () => {
    await rules({ label: "hello", maxRequests: 2 }, { label: "posts:create", maxRequests: 2 });
    expect(await statuses(3, () => server.fetch("/api/hello"))).toEqual([200, 200, 429]);
    await su.settings.update({ batch: { enabled: true } });
    const batch = (n: number) =>
      server.fetch("/api/batch", {
        method: "POST",
        json: {
          requests: Array.from({ length: n }, () => ({
            method: "POST",
            url: "/api/collections/posts/records",
            body: { title: "b" },
          })),
        },
      });
    expect((await batch(2)).status).toBe(200);
    const third = await batch(1);
    expect(third.status).toBe(400);
    expect(JSON.stringify(await third.json())).toContain('"status":429');
    expect((await create("posts")).status).toBe(429);
  });

  it("key on the client IP from trustedProxy.headers only when they are configured", async () => {
    await rules({ label: "posts:create", maxRequests: 1 });
    // without trusted headers X-Forwarded-For changes nothing
    expect((await create("posts", { "x-forwarded-for": "10.0.0.1" })).status).toBe(200);
    expect((await create("posts", { "x-forwarded-for": "10.0.0.2" })).status).toBe(429);
    await su.settings.update({ trustedProxy: { headers: ["X-Forwarded-For"], useLeftmostIP: false } });
    // the rightmost address is the one the proxy appended
    expect((await create("posts", { "x-forwarded-for": "10.0.0.9, 10.0.0.3" })).status).toBe(200);
    expect((await create("posts", { "x-forwarded-for": "10.0.0.8, 10.0.0.3" })).status).toBe(429);
    expect((await create("posts", { "x-forwarded-for": "10.0.0.9, 10.0.0.4" })).status).toBe(200);
    await su.settings.update({ trustedProxy: { headers: ["X-Forwarded-For"], useLeftmostIP: true } });
    expect((await create("posts", { "x-forwarded-for": "10.0.0.5, 10.0.0.3" })).status).toBe(200);
    expect((await create("posts", { "x-forwarded-for": "10.0.0.5, 10.0.0.6" })).status).toBe(429);
  });

  it("skip excluded IPs and subnets", async () => {
    await rules({ label: "posts:create", maxRequests: 1 });
    await su.settings.update({ rateLimits: { excludedIPs: ["127.0.0.0/8", "::1"] } });
    expect(await statuses(3, () => create("posts"))).toEqual([200, 200, 200]);
  });

  it("turn off again: the settings decide", async () => {
    await rules({ label: "posts:create", maxRequests: 1 });
    expect(await statuses(2, () => create("posts"))).toEqual([200, 429]);
    await su.settings.update({ rateLimits: { enabled: false } });
    expect(await statuses(3, () => create("posts"))).toEqual([200, 200, 200]);
  });
});

describe("rate-limit settings validation", () => {
  async function refused(body: unknown) {
    const res = await server.fetch("/api/settings", {
      method: "PATCH",
      json: body,
      token: su.authStore.token,
    });
    expect(res.status).toBe(400);
    return ((await res.json()) as { data: unknown }).data;
  }

  it("refuse bad labels, audiences, durations and conflicting rules with PocketBase's codes", async () => {
    const rule = { label: "users:create", audience: "", duration: 5, maxRequests: 2 };
    expect(await refused({ rateLimits: { rules: [{ ...rule, label: "users create now" }] } })).toMatchObject({
      rateLimits: { rules: { 0: { label: { code: "validation_invalid_format" } } } },
    });
    expect(await refused({ rateLimits: { rules: [{ ...rule, audience: "@admins" }] } })).toMatchObject({
      rateLimits: { rules: { 0: { audience: { code: "validation_in_invalid" } } } },
    });
    expect(await refused({ rateLimits: { rules: [{ ...rule, duration: 0 }] } })).toMatchObject({
      rateLimits: { rules: { 0: { duration: {} } } },
    });
    expect(await refused({ rateLimits: { rules: [rule, { ...rule, maxRequests: 9 }] } })).toMatchObject({
      rateLimits: { rules: { 1: { label: { code: "validation_conflicting_rate_limit_rule" } } } },
    });
    expect(await refused({ rateLimits: { enabled: true, rules: [] } })).toMatchObject({
      rateLimits: { rules: { code: "validation_required" } },
    });
    expect(await refused({ rateLimits: { excludedIPs: ["not-an-ip"] } })).toMatchObject({
      rateLimits: { excludedIPs: {} },
    });
    // as in PocketBase, a rule for everyone conflicts with one for an audience of the same label; the two
    // audiences side by side are fine
    expect(await refused({ rateLimits: { rules: [rule, { ...rule, audience: "@auth" }] } })).toMatchObject({
      rateLimits: { rules: { 1: { label: { code: "validation_conflicting_rate_limit_rule" } } } },
    });
    await su.settings.update({
      rateLimits: {
        rules: [
          { ...rule, audience: "@guest" },
          { ...rule, audience: "@auth" },
        ],
      },
    });
  });
});

describe("PocketBase's fixed guards stay", () => {
  it("suppress repeated reset e-mails silently while every request answers 204", async () => {
    const sent: string[] = [];
    server.basalt.app.mail.useMailer({ send: async (m) => void sent.push(m.to[0].address) });
    for (const email of ["ann@example.com", "nobody@example.com"]) {
      expect(new Set(await statuses(12, () => post("request-password-reset", { email })))).toEqual(
        new Set([204]),
      );
    }
    await server.basalt.app.mail.idle();
    expect(sent).toEqual(["ann@example.com"]);
  });
});
