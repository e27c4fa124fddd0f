import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthCollection } from "../../src/core/collections/index.js";
import { startServer, superuserSdk, superuserToken, type TestServer } from "../harness/server.js";

let server: TestServer;
let su = "";
beforeAll(async () => {
  server = await startServer();
  su = await superuserToken(server);
  const pb = await superuserSdk(server);
  await pb.collections.create({
    name: "docs",
    fields: [{ name: "data", type: "json" }],
    listRule: "",
    createRule: "",
  } as never);
});
afterAll(() => server.stop());

const signUp = (email: string, password: string) =>
  server.fetch("/api/collections/users/records", {
    method: "POST",
    json: { email, password, passwordConfirm: password },
  });
const signIn = (identity: string, password: string) =>
  server.fetch("/api/collections/users/auth-with-password", { method: "POST", json: { identity, password } });

describe("security regressions found in review", () => {
  it("refuses a second account whose e-mail differs only in case, and signs in the one that exists", async () => {
    expect((await signUp("Victim@Example.com", "attacker-pass-1")).status).toBe(200);
    const second = await signUp("victim@example.com", "victim-pass-1");
    expect(second.status).toBe(400);
    expect(await second.json()).toMatchObject({ data: { email: { code: "validation_not_unique" } } });
    expect((await signIn("VICTIM@example.com", "attacker-pass-1")).status).toBe(200);
    expect((await signIn("victim@example.com", "victim-pass-1")).status).toBe(400);
  });

  it("a changed e-mail revokes the old sessions and links sent to the old address", async () => {
    expect((await signUp("old@example.com", "mover-pass-1")).status).toBe(200);
    const { token, record } = (await (await signIn("old@example.com", "mover-pass-1")).json()) as {
      token: string;
      record: { id: string };
    };
    const users = server.basalt.app.collections.get("users") as AuthCollection;
    const row = (await server.basalt.app.db.get<Record<string, unknown>>(
      `SELECT * FROM "users" WHERE "id" = ?`,
      [record.id],
    ))!;
    const reset = server.basalt.app.auth.newToken(users, row, "passwordReset", { email: "old@example.com" });
    const patch = await server.fetch(`/api/collections/users/records/${record.id}`, {
      method: "PATCH",
      token: su,
      json: { email: "new@example.com" },
    });
    expect(patch.status).toBe(200);
    expect(
      (await server.fetch("/api/collections/users/auth-refresh", { method: "POST", token })).status,
    ).toBe(401);
    const confirm = await server.fetch("/api/collections/users/confirm-password-reset", {
      method: "POST",
      json: { token: reset, password: "hijacked-pass-1", passwordConfirm: "hijacked-pass-1" },
    });
    expect(confirm.status).toBe(400);
    expect((await signIn("new@example.com", "hijacked-pass-1")).status).toBe(400);
    expect((await signIn("new@example.com", "mover-pass-1")).status).toBe(200);
  });

  it("a page number past any offset is an empty page, not a 500", async () => {
    const res = await server.fetch("/api/collections/docs/records?page=99999999999999999999");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ items: [] });
  });

  it("deeply nested JSON is a 400 with nothing written, not a 500", async () => {
    const depth = 100_000;
    const body = `{"data":${"[".repeat(depth)}${"]".repeat(depth)}}`;
    const res = await server.fetch("/api/collections/docs/records", { method: "POST", json: body });
    expect(res.status).toBe(400);
    const list = (await (await server.fetch("/api/collections/docs/records")).json()) as {
      totalItems: number;
    };
    expect(list.totalItems).toBe(0);
  });
});
