import { hash as bcryptHash } from "@node-rs/bcrypt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../../src/auth/index.js";
import { insertAuthRecord, readRecord } from "../harness/fixtures/auth-records.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
  const su = await superuserSdk(server);
  await su.collections.update("users", {
    fields: [...(await su.collections.getOne("users")).fields, { type: "text", name: "username", max: 50 }],
    indexes: [
      ...(await su.collections.getOne("users")).indexes,
      "CREATE UNIQUE INDEX `idx_users_username` ON `users` (`username`) WHERE `username` != ''",
    ],
    passwordAuth: { enabled: true, identityFields: ["email", "username"] },
  });
  await insertAuthRecord(server, "users", {
    email: "ann@example.com",
    username: "ann",
    password: "ann-password-1",
    verified: true,
  });
});
afterAll(() => server.stop());

const post = (path: string, json: unknown, token?: string) =>
  server.fetch(`/api/collections/users/${path}`, { method: "POST", json, token });

describe("auth-methods", () => {
  it("lists the enabled methods in PocketBase's shape, through the SDK", async () => {
    const methods = await server.sdk().collection("users").listAuthMethods();
    expect(methods).toEqual({
      password: { enabled: true, identityFields: ["email", "username"] },
      oauth2: { enabled: false, providers: [] },
      mfa: { enabled: false, duration: 0 },
      otp: { enabled: false, duration: 0 },
    });
    const raw = await (await server.fetch("/api/collections/users/auth-methods")).json();
    expect(raw).toMatchObject({ emailPassword: true, usernamePassword: true, authProviders: [] });
    expect((await server.fetch("/api/collections/posts/auth-methods")).status).toBe(404);
    expect((await server.fetch("/api/collections/_mfas/auth-methods")).status).toBe(404);
  });
});

describe("auth-with-password", () => {
  it("signs in with any identity field and fills the SDK's auth store", async () => {
    const pb = server.sdk();
    const byEmail = await pb.collection("users").authWithPassword("ANN@example.com", "ann-password-1");
    expect(byEmail.record.email).toBe("ann@example.com");
    expect(pb.authStore.isValid).toBe(true);
    expect(pb.authStore.record?.id).toBe(byEmail.record.id);
    expect(byEmail.record).not.toHaveProperty("password");
    expect(byEmail.record).not.toHaveProperty("tokenKey");
    const byName = await server.sdk().collection("users").authWithPassword("ann", "ann-password-1");
    expect(byName.record.id).toBe(byEmail.record.id);
    const claims = JSON.parse(Buffer.from(byName.token.split(".")[1], "base64url").toString());
    expect(claims).toMatchObject({
      id: byName.record.id,
      type: "auth",
      collectionId: "_pb_users_auth_",
      refreshable: true,
    });
  });

  it("honours identityField and refuses fields that are not identity fields", async () => {
    const ok = await post("auth-with-password", {
      identity: "ann",
      password: "ann-password-1",
      identityField: "username",
    });
    expect(ok.status).toBe(200);
    const wrongField = await post("auth-with-password", {
      identity: "ann",
      password: "ann-password-1",
      identityField: "email",
    });
    expect(wrongField.status).toBe(400);
    expect(await wrongField.json()).toEqual({ status: 400, message: "Failed to authenticate.", data: {} });
    const notIdentity = await post("auth-with-password", {
      identity: "x",
      password: "y",
      identityField: "name",
    });
    expect(notIdentity.status).toBe(400);
    expect(await notIdentity.json()).toMatchObject({
      data: { identityField: { code: "validation_in_invalid" } },
    });
  });

  it("answers an unknown identity exactly like a wrong password", async () => {
    const a = await post("auth-with-password", { identity: "ann@example.com", password: "nope-nope" });
    const b = await post("auth-with-password", { identity: "nobody@example.com", password: "nope-nope" });
    expect([a.status, b.status]).toEqual([400, 400]);
    expect(await a.json()).toEqual(await b.json());
  });

  it("checks the auth rule against the record and refuses a locked rule", async () => {
    const su = await superuserSdk(server);
    await insertAuthRecord(server, "users", { email: "unverified@example.com", password: "password-123" });
    await su.collections.update("users", { authRule: "verified = true" });
    try {
      expect((await post("auth-with-password", { identity: "ann", password: "ann-password-1" })).status).toBe(
        200,
      );
      const res = await post("auth-with-password", {
        identity: "unverified@example.com",
        password: "password-123",
      });
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({
        status: 403,
        message: "The request doesn't satisfy the collection requirements to authenticate.",
        data: {},
      });
      await su.collections.update("users", { authRule: null });
      expect((await post("auth-with-password", { identity: "ann", password: "ann-password-1" })).status).toBe(
        403,
      );
    } finally {
      await su.collections.update("users", { authRule: "" });
    }
  });

  it("refuses when password auth is disabled", async () => {
    const su = await superuserSdk(server);
    await su.collections.update("users", { passwordAuth: { enabled: false } });
    try {
      const res = await post("auth-with-password", { identity: "ann", password: "ann-password-1" });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({
        message: "The collection is not configured to allow password authentication.",
      });
    } finally {
      await su.collections.update("users", {
        passwordAuth: { enabled: true, identityFields: ["email", "username"] },
      });
    }
  });
});

describe("PocketBase bcrypt hashes", () => {
  it("verify, and are re-hashed to argon2id on the next sign-in", async () => {
    const imported = await insertAuthRecord(server, "users", {
      email: "imported@example.com",
      passwordHash: await bcryptHash("imported-pass-1", { cost: 10 }),
      verified: true,
    });
    expect(String(imported.password)).toMatch(/^\$2[aby]\$/);
    const pb = server.sdk();
    await pb.collection("users").authWithPassword("imported@example.com", "imported-pass-1");
    const after = await readRecord(server, "users", String(imported.id));
    expect(String(after.password)).toMatch(/^\$argon2id\$/);
    expect(after.tokenKey).toBe(imported.tokenKey);
    await pb.collection("users").authRefresh();
    await server.sdk().collection("users").authWithPassword("imported@example.com", "imported-pass-1");
    expect(
      (await post("auth-with-password", { identity: "imported@example.com", password: "wrong-pass" })).status,
    ).toBe(400);
  });
});

describe("auth-refresh", () => {
  it("issues a new token, re-reading the record, through the SDK", async () => {
    const pb = server.sdk();
    await pb.collection("users").authWithPassword("ann", "ann-password-1");
    const first = pb.authStore.token;
    await new Promise((r) => setTimeout(r, 1100));
    const refreshed = await pb.collection("users").authRefresh();
    expect(refreshed.token).not.toBe(first);
    expect(refreshed.record.email).toBe("ann@example.com");
  });

  it("answers 401 without a token and 403 for another collection's token", async () => {
    const none = await post("auth-refresh", {});
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({
      status: 401,
      message: "The request requires valid record authorization token.",
      data: {},
    });
    const su = await superuserSdk(server);
    const other = await post("auth-refresh", {}, su.authStore.token);
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({
      message: "The request requires auth record from _superusers collection.",
    });
  });
});

describe("forged and stale tokens", () => {
  async function annToken(): Promise<string> {
    const res = await post("auth-with-password", { identity: "ann", password: "ann-password-1" });
    return ((await res.json()) as { token: string }).token;
  }
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

  it("are refused by auth-refresh with 401 and treated as a guest on public routes", async () => {
    const good = await annToken();
    const [h, p, s] = good.split(".");
    const claims = JSON.parse(Buffer.from(p, "base64url").toString());
    const forged = [
      `${b64({ alg: "none", typ: "JWT" })}.${p}.`,
      `${h}.${b64({ ...claims, id: "someoneelse1234" })}.${s}`,
      signToken({ ...claims }, "guessed-key"),
      `${h}.${p}.${s.slice(0, -2)}xx`,
      "garbage",
    ];
    for (const token of forged) {
      const res = await post("auth-refresh", {}, token);
      expect(res.status, token).toBe(401);
      const methods = await server.fetch("/api/collections/users/auth-methods", { token });
      expect(methods.status, token).toBe(200);
    }
  });

  it("of another type, expired, or of a deleted record are refused", async () => {
    const app = server.basalt.app;
    const users = app.collections.get("users") as Parameters<typeof app.auth.newToken>[0];
    const temp = await insertAuthRecord(server, "users", { email: "temp@example.com", verified: true });
    const wrongType = app.auth.newToken(users, temp, "passwordReset", { email: "temp@example.com" });
    const expired = app.auth.newToken(users, temp, "auth", {}, -10);
    const valid = app.auth.newToken(users, temp, "auth");
    expect((await post("auth-refresh", {}, wrongType)).status).toBe(401);
    expect((await post("auth-refresh", {}, expired)).status).toBe(401);
    expect((await post("auth-refresh", {}, valid)).status).toBe(200);
    await app.db.run("DELETE FROM users WHERE id = ?", [String(temp.id)]);
    expect((await post("auth-refresh", {}, valid)).status).toBe(401);
  });

  it("stop working when the token key changes", async () => {
    const token = await annToken();
    expect((await post("auth-refresh", {}, token)).status).toBe(200);
    const ann = (await server.basalt.app.auth.findByEmail(
      server.basalt.app.collections.get("users") as never,
      "ann@example.com",
    ))!;
    await server.basalt.app.db.run('UPDATE "users" SET "tokenKey" = ? WHERE "id" = ?', [
      "x".repeat(50),
      String(ann.id),
    ]);
    expect((await post("auth-refresh", {}, token)).status).toBe(401);
  });
});
