import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAuthRecord, readRecord } from "../harness/fixtures/auth-records.js";
import { type CapturedMail, type MailCapture, startMailCapture } from "../harness/fixtures/mail-capture.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

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

const post = (path: string, json: unknown, token?: string) =>
  server.fetch(`/api/collections/users/${path}`, { method: "POST", json, token });

function otpCode(msg: CapturedMail): string {
  const m = /<strong>(\d+)<\/strong>/.exec(msg.body);
  if (!m) throw new Error("no code in the message");
  return m[1];
}

async function requestCode(email: string): Promise<{ otpId: string; code: string }> {
  const { otpId } = await server.sdk().collection("users").requestOTP(email);
  await server.basalt.app.mail.idle();
  return { otpId, code: otpCode(mail.to(email).at(-1)!) };
}

describe("OTP", () => {
  it("mails a code and signs in with it through the SDK, marking the e-mail verified", async () => {
    const user = await insertAuthRecord(server, "users", { email: "olga@example.com" });
    const { otpId, code } = await requestCode("olga@example.com");
    expect(code).toMatch(/^\d{6}$/);
    const pb = server.sdk();
    const auth = await pb.collection("users").authWithOTP(otpId, code);
    expect(auth.record.id).toBe(user.id);
    expect(pb.authStore.isValid).toBe(true);
    expect((await readRecord(server, "users", String(user.id))).verified).toBeTruthy();
    // Single use.
    const again = await post("auth-with-otp", { otpId, password: code });
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({ status: 400, message: "Invalid or expired OTP", data: {} });
  });

  it("answers an otpId for an unknown e-mail and sends nothing", async () => {
    const before = mail.messages.length;
    const res = await post("request-otp", { email: "ghost@example.com" });
    expect(res.status).toBe(200);
    const { otpId } = (await res.json()) as { otpId: string };
    expect(otpId).toMatch(/^[a-z0-9]{15}$/);
    await server.basalt.app.mail.idle();
    expect(mail.messages.length).toBe(before);
    expect((await post("auth-with-otp", { otpId, password: "123456" })).status).toBe(400);
  });

  it("allows five wrong codes per account, then 429 with Retry-After", async () => {
    await insertAuthRecord(server, "users", { email: "guess@example.com" });
    const { otpId, code } = await requestCode("guess@example.com");
    const wrong = code === "000000" ? "111111" : "000000";
    for (let i = 0; i < 5; i++)
      expect((await post("auth-with-otp", { otpId, password: wrong })).status).toBe(400);
    const limited = await post("auth-with-otp", { otpId, password: code });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await limited.json()).toEqual({
      status: 429,
      message: "Too many attempts, please try again later with a new OTP.",
      data: {},
    });
  });

  it("refuses an expired code and a code of another collection, and is off unless enabled", async () => {
    await insertAuthRecord(server, "users", { email: "late@example.com" });
    const { otpId, code } = await requestCode("late@example.com");
    await server.basalt.app.db.run("UPDATE _otps SET created = ? WHERE id = ?", [
      "2000-01-01 00:00:00.000Z",
      otpId,
    ]);
    expect((await post("auth-with-otp", { otpId, password: code })).status).toBe(400);
    const su = server.fetch("/api/collections/_superusers/auth-with-otp", {
      method: "POST",
      json: { otpId, password: code },
    });
    const res = await su;
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      message: "The collection is not configured to allow OTP authentication.",
    });
  });
});

describe("MFA", () => {
  it("answers 401 {mfaId} after the first factor; a different second method completes the sign-in", async () => {
    const su = await superuserSdk(server);
    await su.collections.update("users", { mfa: { enabled: true } });
    try {
      await insertAuthRecord(server, "users", {
        email: "mia@example.com",
        password: "mia-password-1",
        verified: true,
      });
      const pb = server.sdk();
      let mfaId = "";
      try {
        await pb.collection("users").authWithPassword("mia@example.com", "mia-password-1");
        throw new Error("expected MFA");
      } catch (err) {
        const e = err as { status: number; response: { mfaId?: string } };
        expect(e.status).toBe(401);
        mfaId = e.response.mfaId ?? "";
      }
      expect(mfaId).toMatch(/^[a-z0-9]{15}$/);
      expect(pb.authStore.isValid).toBe(false);
      // The same method again is refused.
      const same = await server.fetch(`/api/collections/users/auth-with-password?mfaId=${mfaId}`, {
        method: "POST",
        json: { identity: "mia@example.com", password: "mia-password-1" },
      });
      expect(same.status).toBe(400);
      expect(await same.json()).toMatchObject({ message: "A different authentication method is required." });
      const { otpId, code } = await requestCode("mia@example.com");
      const auth = await pb.collection("users").authWithOTP(otpId, code, { query: { mfaId } });
      expect(auth.record.email).toBe("mia@example.com");
      expect(pb.authStore.isValid).toBe(true);
      // The MFA session is spent.
      const reused = await server.fetch(`/api/collections/users/auth-with-password?mfaId=${mfaId}`, {
        method: "POST",
        json: { identity: "mia@example.com", password: "mia-password-1" },
      });
      expect(reused.status).toBe(400);
      expect(await reused.json()).toMatchObject({ message: "Invalid or expired MFA session." });
    } finally {
      await su.collections.update("users", { mfa: { enabled: false } });
    }
  });

  it("refuses an mfaId of another record", async () => {
    const su = await superuserSdk(server);
    await su.collections.update("users", { mfa: { enabled: true } });
    try {
      await insertAuthRecord(server, "users", {
        email: "m1@example.com",
        password: "password-m1",
        verified: true,
      });
      await insertAuthRecord(server, "users", {
        email: "m2@example.com",
        password: "password-m2",
        verified: true,
      });
      const first = await post("auth-with-password", { identity: "m1@example.com", password: "password-m1" });
      const { mfaId } = (await first.json()) as { mfaId: string };
      const { otpId, code } = await requestCode("m2@example.com");
      const res = await server.fetch(`/api/collections/users/auth-with-otp`, {
        method: "POST",
        json: { otpId, password: code, mfaId },
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ message: "Invalid MFA session." });
    } finally {
      await su.collections.update("users", { mfa: { enabled: false } });
    }
  });
});

describe("impersonate", () => {
  it("gives a superuser a static token for any auth record, through the SDK", async () => {
    const user = await insertAuthRecord(server, "users", { email: "imp@example.com", verified: true });
    const su = await superuserSdk(server);
    const client = await su.collection("users").impersonate(String(user.id), 3600);
    expect(client.authStore.record?.id).toBe(user.id);
    const claims = JSON.parse(Buffer.from(client.authStore.token.split(".")[1], "base64url").toString());
    expect(claims.refreshable).toBe(false);
    expect(claims.exp - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(3600);
    // Refresh keeps the same, non-refreshable token.
    const refreshed = await client.collection("users").authRefresh();
    expect(refreshed.token).toBe(client.authStore.token);
  });

  it("is for superusers only, and 404s an unknown record", async () => {
    const user = await insertAuthRecord(server, "users", {
      email: "imp2@example.com",
      password: "imp2-password",
      verified: true,
    });
    const guest = await post(`impersonate/${user.id}`, {});
    expect(guest.status).toBe(401);
    const login = await post("auth-with-password", {
      identity: "imp2@example.com",
      password: "imp2-password",
    });
    const { token } = (await login.json()) as { token: string };
    const asUser = await post(`impersonate/${user.id}`, {}, token);
    expect(asUser.status).toBe(403);
    const su = await superuserSdk(server);
    expect((await post("impersonate/nope", {}, su.authStore.token)).status).toBe(404);
    const bad = await post(`impersonate/${user.id}`, { duration: -1 }, su.authStore.token);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      data: { duration: { code: "validation_min_greater_equal_than_required" } },
    });
  });
});
