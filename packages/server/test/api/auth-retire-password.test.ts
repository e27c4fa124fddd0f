import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAuthRecord, readRecord } from "../harness/fixtures/auth-records.js";
import { type MailCapture, startMailCapture } from "../harness/fixtures/mail-capture.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

// Issue 11, item 5: proving the mailbox (OTP with MFA off, or verification when password sign-in is off)
// retires a password set before the address was proven, as current PocketBase does
// (apis/record_auth_with_otp.go, apis/record_auth_verification_confirm.go).

let server: TestServer;
let mail: MailCapture;
beforeAll(async () => {
  mail = await startMailCapture();
  server = await startServer();
  mail.attach(server);
  const su = await superuserSdk(server);
  await su.collections.update("users", { otp: { enabled: true, length: 6 } });
});
afterAll(async () => {
  await server.stop();
  await mail.stop();
});

const post = (path: string, json: unknown) =>
  server.fetch(`/api/collections/users/${path}`, { method: "POST", json });

async function codeFor(email: string): Promise<{ otpId: string; code: string }> {
  const { otpId } = (await (await post("request-otp", { email })).json()) as { otpId: string };
  await server.basalt.app.mail.idle();
  const code = /<strong>(\d+)<\/strong>/.exec(mail.to(email).at(-1)!.body)![1];
  return { otpId, code };
}

describe("OTP sign-in that verifies an account", () => {
  it("sets a new random password and revokes older tokens when MFA is off", async () => {
    const user = await insertAuthRecord(server, "users", {
      email: "pre@example.com",
      password: "squatter-pass-1",
    });
    // the pre-registering party signs in with the password it chose
    const squatter = server.sdk();
    await squatter.collection("users").authWithPassword("pre@example.com", "squatter-pass-1");
    const { otpId, code } = await codeFor("pre@example.com");
    const owner = server.sdk();
    const auth = await owner.collection("users").authWithOTP(otpId, code);
    expect(auth.record.verified).toBe(true);
    expect((await readRecord(server, "users", String(user.id))).verified).toBeTruthy();
    // the chosen password no longer works, the older token is void, the new one works
    expect(
      (await post("auth-with-password", { identity: "pre@example.com", password: "squatter-pass-1" })).status,
    ).toBe(400);
    const old = await server.fetch("/api/collections/users/auth-refresh", {
      method: "POST",
      token: squatter.authStore.token,
    });
    expect(old.status).toBe(401);
    expect((await owner.collection("users").authRefresh()).record.id).toBe(user.id);
  });

  it("keeps the password of an account that was verified already", async () => {
    await insertAuthRecord(server, "users", {
      email: "ok@example.com",
      password: "own-pass-123",
      verified: true,
    });
    const { otpId, code } = await codeFor("ok@example.com");
    await server.sdk().collection("users").authWithOTP(otpId, code);
    expect(
      (await post("auth-with-password", { identity: "ok@example.com", password: "own-pass-123" })).status,
    ).toBe(200);
  });
});

describe("confirm-verification", () => {
  it("retires the password when password sign-in is disabled, and keeps it when enabled", async () => {
    const su = await superuserSdk(server);
    const keep = await insertAuthRecord(server, "users", {
      email: "keep@example.com",
      password: "keep-pass-123",
    });
    await post("request-verification", { email: "keep@example.com" });
    await server.basalt.app.mail.idle();
    const token = (email: string) =>
      /token=([\w.-]+)|confirm-verification\/([\w.-]+)/.exec(mail.to(email).at(-1)!.body);
    const t1 = token("keep@example.com")!;
    expect((await post("confirm-verification", { token: t1[1] ?? t1[2] })).status).toBe(204);
    const kept = await readRecord(server, "users", String(keep.id));
    expect(kept.password).toBe(keep.password);

    const gone = await insertAuthRecord(server, "users", {
      email: "gone@example.com",
      password: "gone-pass-123",
    });
    await post("request-verification", { email: "gone@example.com" });
    await server.basalt.app.mail.idle();
    await su.collections.update("users", { passwordAuth: { enabled: false } });
    try {
      const t2 = token("gone@example.com")!;
      expect((await post("confirm-verification", { token: t2[1] ?? t2[2] })).status).toBe(204);
      const after = await readRecord(server, "users", String(gone.id));
      expect(after.verified).toBeTruthy();
      expect(after.password).not.toBe(gone.password);
      expect(after.tokenKey).not.toBe(gone.tokenKey);
    } finally {
      await su.collections.update("users", { passwordAuth: { enabled: true } });
    }
  });
});
