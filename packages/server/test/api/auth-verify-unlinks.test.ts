import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthCollection } from "../../src/core/collections/index.js";
import { insertRow } from "../../src/core/records/index.js";
import { newRecordId, nowDateTime } from "../../src/util/index.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
  const su = await superuserSdk(server);
  await su.collections.update("users", { otp: { enabled: true } });
});
afterAll(() => server.stop());

/** An unverified account for `email` that someone else pre-registered, with his provider identity linked. */
async function planted(email: string) {
  const res = await server.fetch("/api/collections/users/records", {
    method: "POST",
    json: { email, password: "squatter-pass-1", passwordConfirm: "squatter-pass-1" },
  });
  expect(res.status).toBe(200);
  const { id } = (await res.json()) as { id: string };
  const ext = server.basalt.app.collections.get("_externalAuths");
  const now = nowDateTime();
  await insertRow(server.basalt.app.db, ext, {
    id: newRecordId(),
    collectionRef: server.basalt.app.collections.get("users").id,
    recordRef: id,
    provider: "oidc",
    providerId: `squatter-${id}`,
    created: now,
    updated: now,
  });
  return id;
}

const links = async (id: string) =>
  (await server.basalt.app.db.all(`SELECT 1 FROM "_externalAuths" WHERE "recordRef" = ?`, [id])).length;

async function tokenFor(id: string, type: "passwordReset" | "verification", email: string) {
  const users = server.basalt.app.collections.get("users") as AuthCollection;
  const row = (await server.basalt.app.db.get<Record<string, unknown>>(
    `SELECT * FROM "users" WHERE "id" = ?`,
    [id],
  ))!;
  return server.basalt.app.auth.newToken(users, row, type, { email });
}

describe("verifying a pre-registered account removes the provider links gathered while unverified", () => {
  it("by password reset", async () => {
    const id = await planted("reset-owner@example.com");
    expect(await links(id)).toBe(1);
    const res = await server.fetch("/api/collections/users/confirm-password-reset", {
      method: "POST",
      json: {
        token: await tokenFor(id, "passwordReset", "reset-owner@example.com"),
        password: "owner-pass-123",
        passwordConfirm: "owner-pass-123",
      },
    });
    expect(res.status).toBe(204);
    expect(await links(id)).toBe(0);
    const row = await server.basalt.app.db.get<{ verified: unknown }>(
      `SELECT "verified" FROM "users" WHERE "id" = ?`,
      [id],
    );
    expect(Boolean(row?.verified)).toBe(true);
  });

  it("by the verification link", async () => {
    const id = await planted("verify-owner@example.com");
    const res = await server.fetch("/api/collections/users/confirm-verification", {
      method: "POST",
      json: { token: await tokenFor(id, "verification", "verify-owner@example.com") },
    });
    expect(res.status).toBe(204);
    expect(await links(id)).toBe(0);
  });

  it("by an OTP sent to the address", async () => {
    const id = await planted("otp-owner@example.com");
    const pb = server.sdk();
    const { otpId } = await pb.collection("users").requestOTP("otp-owner@example.com");
    const otp = await server.basalt.app.db.get<{ id: string }>(`SELECT "id" FROM "_otps" WHERE "id" = ?`, [
      otpId,
    ]);
    expect(otp).toBeTruthy();
    // the code itself is only stored hashed: set a known one the way the mailer would have sent it
    const hash = (await import("../../src/auth/index.js")).hashPassword;
    await server.basalt.app.db.run(`UPDATE "_otps" SET "password" = ? WHERE "id" = ?`, [
      await hash("12345678"),
      otpId,
    ]);
    await pb.collection("users").authWithOTP(otpId, "12345678");
    expect(pb.authStore.record?.verified).toBe(true);
    expect(await links(id)).toBe(0);
  });

  it("an already verified account keeps its links on a password reset", async () => {
    const id = await planted("kept@example.com");
    await server.basalt.app.db.run(`UPDATE "users" SET "verified" = TRUE WHERE "id" = ?`, [id]);
    const res = await server.fetch("/api/collections/users/confirm-password-reset", {
      method: "POST",
      json: {
        token: await tokenFor(id, "passwordReset", "kept@example.com"),
        password: "kept-pass-1234",
        passwordConfirm: "kept-pass-1234",
      },
    });
    expect(res.status).toBe(204);
    expect(await links(id)).toBe(1);
  });
});
