import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signToken } from "../../src/auth/index.js";
import { startServer, superuserToken, type TestServer } from "../harness/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.stop());

const list = (token?: string) => server.fetch("/api/collections", { token });

function b64(obj: unknown): string {
  return Buffer.from(JSON.stringify(obj)).toString("base64url");
}

describe("superuser tokens", () => {
  it("are accepted with and without the Bearer prefix", async () => {
    const token = await superuserToken(server);
    expect((await list(token)).status).toBe(200);
    expect((await list(`Bearer ${token}`)).status).toBe(200);
    expect((await list(`bearer ${token}`)).status).toBe(200);
  });

  it("a wrong password is a 400 and says nothing about which part was wrong", async () => {
    const wrong = await server.fetch("/api/collections/_superusers/auth-with-password", {
      method: "POST",
      json: { identity: "root@example.com", password: "wrong-password" },
    });
    const unknown = await server.fetch("/api/collections/_superusers/auth-with-password", {
      method: "POST",
      json: { identity: "nobody@example.com", password: "wrong-password" },
    });
    expect(wrong.status).toBe(400);
    expect(unknown.status).toBe(400);
    expect(await wrong.json()).toEqual(await unknown.json());
  });

  it("refuses malformed sign-in bodies with field errors", async () => {
    for (const json of [{}, { identity: 5, password: [] }, { identity: "a@b.co" }, "[]", '"x"']) {
      const res = await server.fetch("/api/collections/_superusers/auth-with-password", {
        method: "POST",
        json,
      });
      expect(res.status, JSON.stringify(json)).toBe(400);
    }
    const res = await server.fetch("/api/collections/nope/auth-with-password", { method: "POST", json: {} });
    expect(res.status).toBe(404);
    const base = await server.fetch("/api/collections/_mfas/auth-with-password", {
      method: "POST",
      json: {},
    });
    expect(base.status).toBe(404);
  });

  it("stop working when the password changes", async () => {
    const token = await superuserToken(server);
    expect((await list(token)).status).toBe(200);
    await server.basalt.app.auth.upsertSuperuser("root@example.com", "root-password-123");
    expect((await list(token)).status).toBe(401);
    expect((await list(await superuserToken(server))).status).toBe(200);
  });

  it("stop working when the superuser is deleted", async () => {
    await server.basalt.app.auth.upsertSuperuser("temp@example.com", "temp-password-123");
    const res = await server.fetch("/api/collections/_superusers/auth-with-password", {
      method: "POST",
      json: { identity: "temp@example.com", password: "temp-password-123" },
    });
    const { token } = (await res.json()) as { token: string };
    expect((await list(token)).status).toBe(200);
    expect(await server.basalt.app.auth.deleteSuperuser("temp@example.com")).toBe(true);
    expect((await list(token)).status).toBe(401);
  });

  it("rejects alg none, a wrong key, a wrong type, an expired token and garbage", async () => {
    const token = await superuserToken(server);
    const [, payload] = token.split(".");
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    const forged = [
      `${b64({ alg: "none", typ: "JWT" })}.${payload}.`,
      `${b64({ alg: "HS256", typ: "JWT" })}.${payload}.${createHmac("sha256", "guess").update("x").digest("base64url")}`,
      `${b64({ alg: "HS512", typ: "JWT" })}.${payload}.${token.split(".")[2]}`,
      signToken({ ...claims, type: "file" }, "whatever"),
      "not-a-token",
      "a.b.c",
      "",
    ];
    for (const f of forged) expect((await list(f)).status, f).toBe(401);
    const row = await server.basalt.app.db.get<{ tokenKey: string }>(
      `SELECT "tokenKey" FROM "_superusers" WHERE id = ?`,
      [claims.id],
    );
    const superusers = server.basalt.app.collections.get("_superusers");
    const key = `${row!.tokenKey}${superusers.authToken!.secret}`;
    expect((await list(signToken({ ...claims, exp: Math.floor(Date.now() / 1000) + 60 }, key))).status).toBe(
      200,
    );
    expect((await list(signToken({ ...claims, exp: Math.floor(Date.now() / 1000) - 1 }, key))).status).toBe(
      401,
    );
    expect((await list(signToken({ ...claims, type: "passwordReset" }, key))).status).toBe(401);
  });

  it("an invalid token on a public route is treated as a guest", async () => {
    const res = await server.fetch("/api/health", { token: "garbage.token.here" });
    expect(res.status).toBe(200);
  });

  it("a non-refreshable token is returned as is on refresh", async () => {
    const token = await superuserToken(server);
    const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
    const row = await server.basalt.app.db.get<{ tokenKey: string }>(
      `SELECT "tokenKey" FROM "_superusers" WHERE id = ?`,
      [claims.id],
    );
    const key = `${row!.tokenKey}${server.basalt.app.collections.get("_superusers").authToken!.secret}`;
    const fixed = signToken({ ...claims, refreshable: false }, key);
    const res = await server.fetch("/api/collections/_superusers/auth-refresh", {
      method: "POST",
      token: fixed,
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { token: string }).token).toBe(fixed);
    const guest = await server.fetch("/api/collections/_superusers/auth-refresh", { method: "POST" });
    expect(guest.status).toBe(401);
  });
});
