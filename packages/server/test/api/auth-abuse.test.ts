import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { insertAuthRecord } from "../harness/fixtures/auth-records.js";
import { startServer, superuserSdk, type TestServer } from "../harness/server.js";

let server: TestServer;
beforeEach(async () => {
  server = await startServer();
  await insertAuthRecord(server, "users", {
    email: "ann@example.com",
    password: "ann-password-1",
    verified: true,
  });
});
afterEach(() => server.stop());

const post = (path: string, json: unknown, headers?: Record<string, string>) =>
  server.fetch(`/api/collections/users/${path}`, { method: "POST", json, headers });

async function expect429(res: Response) {
  expect(res.status).toBe(429);
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(await res.json()).toEqual({ status: 429, message: "Too Many Requests.", data: {} });
}

describe("sign-in limits", () => {
  it("lock an identity after repeated failures, even for the right password, but not others", async () => {
    server.basalt.app.limiter.configure({ signInFailuresPerIdentity: { max: 3, seconds: 60 } });
    await insertAuthRecord(server, "users", {
      email: "bob@example.com",
      password: "bob-password-1",
      verified: true,
    });
    for (let i = 0; i < 3; i++) {
      expect(
        (await post("auth-with-password", { identity: "ann@example.com", password: "wrong" })).status,
      ).toBe(400);
    }
    await expect429(
      await post("auth-with-password", { identity: "ANN@example.com", password: "ann-password-1" }),
    );
    expect(
      (await post("auth-with-password", { identity: "bob@example.com", password: "bob-password-1" })).status,
    ).toBe(200);
  });

  it("limit each client IP, which X-Forwarded-For cannot change without a trusted proxy", async () => {
    const su = await superuserSdk(server);
    await su.collections.update("users", { otp: { enabled: true } });
    // The superuser's sign-in above is the first of four.
    server.basalt.app.limiter.configure({ signInPerIp: { max: 4, seconds: 60 } });
    for (let i = 0; i < 3; i++) {
      const res = await post(
        "auth-with-password",
        { identity: "ann@example.com", password: "ann-password-1" },
        {
          "x-forwarded-for": `10.0.0.${i}`,
        },
      );
      expect(res.status).toBe(200);
    }
    await expect429(
      await post(
        "auth-with-password",
        { identity: "ann@example.com", password: "ann-password-1" },
        { "x-forwarded-for": "10.9.9.9" },
      ),
    );
    await expect429(await post("auth-with-otp", { otpId: "x", password: "1" }));
  });
});

describe("e-mail and OTP request limits", () => {
  it("answer 429 per e-mail after a few requests, the same for known and unknown addresses", async () => {
    server.basalt.app.limiter.configure({ emailRequestPerEmail: { max: 2, seconds: 600 } });
    for (const email of ["ann@example.com", "ghost@example.com"]) {
      for (let i = 0; i < 2; i++) expect((await post("request-password-reset", { email })).status).toBe(204);
      await expect429(await post("request-password-reset", { email }));
    }
    for (let i = 0; i < 2; i++) {
      expect((await post("request-verification", { email: "ghost2@example.com" })).status).toBe(204);
    }
    await expect429(await post("request-verification", { email: "ghost2@example.com" }));
  });

  it("limit OTP requests per e-mail and per IP", async () => {
    const su = await superuserSdk(server);
    await su.collections.update("users", { otp: { enabled: true } });
    server.basalt.app.limiter.configure({
      otpRequestPerEmail: { max: 2, seconds: 300 },
      otpRequestPerIp: { max: 4, seconds: 60 },
    });
    for (let i = 0; i < 2; i++)
      expect((await post("request-otp", { email: "ann@example.com" })).status).toBe(200);
    await expect429(await post("request-otp", { email: "ann@example.com" }));
    expect((await post("request-otp", { email: "other@example.com" })).status).toBe(200);
    await expect429(await post("request-otp", { email: "third@example.com" }));
  });

  it("send at most one reset e-mail per account per two minutes, still answering 204", async () => {
    const sent: string[] = [];
    server.basalt.app.mail.useMailer({ send: async (m) => void sent.push(m.to[0].address) });
    for (let i = 0; i < 3; i++)
      expect((await post("request-password-reset", { email: "ann@example.com" })).status).toBe(204);
    await server.basalt.app.mail.idle();
    expect(sent).toEqual(["ann@example.com"]);
  });
});

describe("answers that do not enumerate accounts", () => {
  it("are identical for known and unknown e-mails on every request route", async () => {
    const su = await superuserSdk(server);
    await su.collections.update("users", { otp: { enabled: true } });
    for (const path of ["request-verification", "request-password-reset"]) {
      const known = await post(path, { email: "ann@example.com" });
      const unknown = await post(path, { email: "nobody@example.com" });
      expect([known.status, unknown.status]).toEqual([204, 204]);
      expect(await known.text()).toBe(await unknown.text());
    }
    const known = (await (await post("request-otp", { email: "ann@example.com" })).json()) as Record<
      string,
      unknown
    >;
    const unknown = (await (await post("request-otp", { email: "nobody@example.com" })).json()) as Record<
      string,
      unknown
    >;
    expect(Object.keys(known)).toEqual(["otpId"]);
    expect(Object.keys(unknown)).toEqual(["otpId"]);
  });
});
