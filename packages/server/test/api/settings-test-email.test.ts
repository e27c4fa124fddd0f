import type PocketBase from "pocketbase";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MailCapture, startMailCapture } from "../harness/fixtures/mail-capture.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

// Issue 11, item 3: POST /api/settings/test/email (`pb.settings.testEmail`) sends the chosen template over
// the SMTP server configured in the settings.

let server: TestServer;
let mail: MailCapture;
let su: PocketBase;
beforeAll(async () => {
  mail = await startMailCapture();
  server = await startServer();
  su = await superuserSdk(server);
  await su.settings.update({
    meta: { appName: "Acme", senderAddress: "noreply@acme.test", senderName: "Acme" },
    smtp: { enabled: true, host: "127.0.0.1", port: mail.port, tls: false },
  });
});
afterAll(async () => {
  await server.stop();
  await mail.stop();
});

describe("settings test e-mail", () => {
  it("sends each template of the chosen collection through the configured SMTP server", async () => {
    const cases: [string, RegExp][] = [
      ["verification", /confirm-verification\/[\w-]+\.[\w-]+\.[\w-]+/],
      ["password-reset", /confirm-password-reset\/[\w-]+\.[\w-]+\.[\w-]+/],
      ["email-change", /confirm-email-change\/[\w-]+\.[\w-]+\.[\w-]+/],
      ["otp", /123456/],
      ["login-alert", /TEST_IP TEST_USER_AGENT/],
    ];
    for (const [template, content] of cases) {
      const to = `${template}@example.com`;
      expect(await su.settings.testEmail("users", to, template)).toBe(true);
      const got = mail.to(to);
      expect(got, template).toHaveLength(1);
      expect(got[0].from).toBe("noreply@acme.test");
      expect(got[0].body).toMatch(content);
      expect(got[0].body).not.toContain("{APP_NAME}");
    }
  });

  it("defaults to the _superusers templates", async () => {
    const res = await server.fetch("/api/settings/test/email", {
      method: "POST",
      json: { email: "root-test@example.com", template: "password-reset" },
      token: su.authStore.token,
    });
    expect(res.status).toBe(204);
    expect(mail.to("root-test@example.com")).toHaveLength(1);
  });

  it("validates like PocketBase and is for superusers only", async () => {
    const res = await server.fetch("/api/settings/test/email", {
      method: "POST",
      json: { email: "nope", template: "welcome", collection: "posts" },
      token: su.authStore.token,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      message: "Failed to send the test email.",
      data: {
        email: { code: "validation_is_email" },
        template: { code: "validation_in_invalid" },
        collection: { code: "validation_invalid_auth_collection" },
      },
    });
    const guest = await server.fetch("/api/settings/test/email", {
      method: "POST",
      json: { email: "a@example.com", template: "otp" },
    });
    expect(guest.status).toBe(401);
  });

  it("answers 400 with the transport's error when the SMTP server cannot be reached", async () => {
    await su.settings.update({ smtp: { enabled: true, host: "127.0.0.1", port: 1, tls: false } });
    try {
      const res = await server.fetch("/api/settings/test/email", {
        method: "POST",
        json: { email: "x@example.com", template: "otp" },
        token: su.authStore.token,
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toContain("Failed to send the test email.");
    } finally {
      await su.settings.update({ smtp: { enabled: true, host: "127.0.0.1", port: mail.port, tls: false } });
    }
  });
});
