import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAuthRecord, readRecord } from "../harness/fixtures/auth-records.js";
import { linkToken, type MailCapture, startMailCapture } from "../harness/fixtures/mail-capture.js";
import { createUser } from "../harness/fixtures/users.js";
import { type HooksProject, hooksProject } from "../harness/hooks-project.js";
import { SUPERUSER, startServer, superuserSdk, type TestServer } from "../harness/server.js";

// Issue 13, item 8: the auth flows are services. A hook file's custom routes call them through `app.auth`
// and get what the REST routes give: the same validation, e-mails, guards, auth rule and hooks.
const MAIN = `
import type { HookApi } from "basalt";

export default function (app: HookApi) {
  const seen: string[] = [];
  app.onRecordAuthRequest((e) => {
    seen.push(e.collection.name + ":" + e.authMethod);
    return e.next();
  });
  app.router.get("/api/flows/seen", () => ({ seen }));
  app.router.post("/api/flows/login", async (e) => {
    const { collection, identity, password } = e.body as Record<string, string>;
    return app.auth.signInWithPassword(collection, identity, password, { ip: e.ip });
  });
  app.router.post("/api/flows/forgot", async (e) => {
    await app.auth.requestPasswordReset("users", String(e.body.email));
    return { sent: true };
  });
  app.router.post("/api/flows/reset", async (e) => {
    await app.auth.confirmPasswordReset("users", String(e.body.token), String(e.body.password));
    return { reset: true };
  });
  app.router.post("/api/flows/verify", async (e) => {
    if (e.body.token) await app.auth.confirmVerification("users", String(e.body.token));
    else await app.auth.requestVerification("users", String(e.body.email));
    return { ok: true };
  });
  app.router.post("/api/flows/otp", async (e) => app.auth.requestOTP("users", String(e.body.email)));
  app.router.post("/api/flows/otp-login", async (e) =>
    app.auth.signInWithOTP("users", String(e.body.otpId), String(e.body.code), { ip: e.ip }),
  );
  app.router.post(
    "/api/flows/move",
    async (e) => {
      await app.auth.requestEmailChange("users", String(e.auth!.record.id), String(e.body.newEmail));
      return { ok: true };
    },
    app.middlewares.requireAuth("users"),
  );
  app.router.post("/api/flows/move-confirm", async (e) => {
    await app.auth.confirmEmailChange("users", String(e.body.token), String(e.body.password));
    return { ok: true };
  });
  app.router.post(
    "/api/flows/impersonate/:id",
    async (e) => app.auth.impersonate("users", e.params.id, 60),
    app.middlewares.requireSuperuserAuth(),
  );
}
`;

let project: HooksProject;
let server: TestServer;
let mail: MailCapture;

const call = async (path: string, json: unknown, token?: string) => {
  const res = await server.fetch(`/api/flows/${path}`, { method: "POST", json, token });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};
/** The sign-ins of `users` records the onRecordAuthRequest hook saw, in order. */
const seen = async () =>
  ((await (await server.fetch("/api/flows/seen")).json()) as { seen: string[] }).seen.filter((s) =>
    s.startsWith("users:"),
  );
const mailsTo = async (address: string) => {
  await server.basalt.app.mail.idle();
  return mail.to(address);
};
const restSignIn = (identity: string, password: string) =>
  server.fetch("/api/collections/users/auth-with-password", { method: "POST", json: { identity, password } });

beforeAll(async () => {
  project = hooksProject({ "main.ts": MAIN });
  server = await startServer({ hooksDir: project.hooksDir });
  mail = await startMailCapture();
  mail.attach(server);
  const su = await superuserSdk(server);
  await su.collections.update("users", { otp: { enabled: true, length: 6 } });
});

afterAll(async () => {
  await server?.stop();
  await mail?.stop();
  project?.remove();
});

describe("auth flows called from code (app.auth)", () => {
  it("signs in with a password: the SDK's answer shape, a working token, onRecordAuthRequest fired", async () => {
    const id = await createUser(server, "ada@example.com", "password-one");
    const ok = await call("login", {
      collection: "users",
      identity: "ada@example.com",
      password: "password-one",
    });
    expect(ok.status).toBe(200);
    expect(ok.body.record).toMatchObject({ id, email: "ada@example.com", collectionName: "users" });
    expect(ok.body.record.password).toBeUndefined();
    const sdk = server.sdk();
    sdk.authStore.save(ok.body.token, null);
    await expect(sdk.collection("users").authRefresh()).resolves.toMatchObject({ record: { id } });
    expect(await seen()).toEqual(["users:password", "users:token"]);

    const bad = await call("login", {
      collection: "users",
      identity: "ada@example.com",
      password: "nope-nope",
    });
    expect(bad).toEqual({ status: 400, body: { status: 400, message: "Failed to authenticate.", data: {} } });
    const blank = await call("login", { collection: "users", identity: "", password: "x" });
    expect(blank.status).toBe(400);
    expect(blank.body.data.identity.code).toBe("validation_required");
    const notAuth = await call("login", { collection: "nothing", identity: "a", password: "b" });
    expect(notAuth.status).toBe(404);
    expect(await seen()).toHaveLength(2);
  });

  it("applies the collection's auth rule and the superuser IP allowlist the client's address falls under", async () => {
    const su = await superuserSdk(server);
    await createUser(server, "ruled@example.com", "password-two");
    await su.collections.update("users", { authRule: "email != 'ruled@example.com'" });
    try {
      const refused = await call("login", {
        collection: "users",
        identity: "ruled@example.com",
        password: "password-two",
      });
      expect(refused.status).toBe(403);
    } finally {
      await su.collections.update("users", { authRule: "" });
    }
    await server.basalt.app.settings.update({ superuserIPs: ["192.0.2.1"] });
    try {
      const right = { collection: "_superusers", identity: SUPERUSER.email, password: SUPERUSER.password };
      // the right password from an address outside the list: refused, as the REST sign-in is
      expect((await call("login", right)).status).toBe(403);
    } finally {
      await server.basalt.app.settings.update({ superuserIPs: [] });
    }
    const right = { collection: "_superusers", identity: SUPERUSER.email, password: SUPERUSER.password };
    expect((await call("login", right)).status).toBe(200);
  });

  it("password reset: mails the link, confirming sets the new password for REST sign-in too", async () => {
    await createUser(server, "bob@example.com", "old-password");
    expect((await call("forgot", { email: "bob@example.com" })).body).toEqual({ sent: true });
    // an unknown address answers the same and sends nothing
    expect((await call("forgot", { email: "ghost@example.com" })).body).toEqual({ sent: true });
    const [msg] = await mailsTo("bob@example.com");
    expect(await mailsTo("ghost@example.com")).toHaveLength(0);
    const { token } = linkToken(msg, "confirm-password-reset");
    const short = await call("reset", { token, password: "x" });
    expect(short.status).toBe(400);
    expect(short.body.data.password.code).toBe("validation_length_out_of_range");
    expect((await call("reset", { token, password: "new-password" })).body).toEqual({ reset: true });
    expect((await restSignIn("bob@example.com", "old-password")).status).toBe(400);
    expect((await restSignIn("bob@example.com", "new-password")).status).toBe(200);
    // the token was single use: the password change rotated the token key
    expect((await call("reset", { token, password: "third-password" })).status).toBe(400);
  });

  it("verification: request mails a token to an unverified account, confirm marks it verified", async () => {
    const user = await insertAuthRecord(server, "users", { email: "cleo@example.com" });
    await call("verify", { email: "cleo@example.com" });
    const [msg] = await mailsTo("cleo@example.com");
    const { token } = linkToken(msg, "confirm-verification");
    expect((await call("verify", { token })).body).toEqual({ ok: true });
    expect((await readRecord(server, "users", String(user.id))).verified).toBeTruthy();
    // a second confirmation of a used token changes nothing and still answers 204-like success
    expect((await call("verify", { token })).body).toEqual({ ok: true });
  });

  it("OTP: the code mailed signs in once; wrong codes hit the per-address guard with Retry-After", async () => {
    const id = await createUser(server, "dora@example.com", "password-four");
    const { otpId } = (await call("otp", { email: "dora@example.com" })).body;
    const [msg] = await mailsTo("dora@example.com");
    const code = /<strong>(\d+)<\/strong>/.exec(msg.body)![1];
    const ok = await call("otp-login", { otpId, code });
    expect(ok.status).toBe(200);
    expect(ok.body.record.id).toBe(id);
    expect((await call("otp-login", { otpId, code })).status).toBe(400);
    expect((await seen()).filter((s) => s === "users:otp")).toHaveLength(1);

    const second = (await call("otp", { email: "dora@example.com" })).body.otpId as string;
    const wrong = code === "000000" ? "111111" : "000000";
    // five attempts per account and address in three minutes (the successful sign-in above was one)
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 6 && !limited; i++) {
      const res = await server.fetch("/api/flows/otp-login", {
        method: "POST",
        json: { otpId: second, code: wrong },
      });
      if (res.status === 429) limited = res;
      else statuses.push(res.status);
    }
    expect(statuses).toEqual([400, 400, 400, 400]);
    expect(limited?.status).toBe(429);
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("e-mail change: the signed-in record asks, the token mailed to the new address confirms it", async () => {
    await createUser(server, "eve@example.com", "password-five");
    const signedIn = await call("login", {
      collection: "users",
      identity: "eve@example.com",
      password: "password-five",
    });
    expect((await call("move", { newEmail: "eve2@example.com" })).status).toBe(401);
    expect((await call("move", { newEmail: "eve2@example.com" }, signedIn.body.token)).body).toEqual({
      ok: true,
    });
    const [msg] = await mailsTo("eve2@example.com");
    const { token } = linkToken(msg, "confirm-email-change");
    const wrong = await call("move-confirm", { token, password: "not-it" });
    expect(wrong.status).toBe(400);
    expect(wrong.body.data.password.code).toBe("validation_invalid_password");
    expect((await call("move-confirm", { token, password: "password-five" })).body).toEqual({ ok: true });
    expect((await restSignIn("eve2@example.com", "password-five")).status).toBe(200);
    expect((await restSignIn("eve@example.com", "password-five")).status).toBe(400);
  });

  it("impersonation from a superuser-only route gives a non-refreshable token", async () => {
    const id = await createUser(server, "finn@example.com", "password-six");
    const su = await superuserSdk(server);
    expect((await call("impersonate/" + id, {})).status).toBe(401);
    const res = await call(`impersonate/${id}`, {}, su.authStore.token);
    expect(res.status).toBe(200);
    expect(res.body.record.id).toBe(id);
    const refreshed = await server.fetch("/api/collections/users/auth-refresh", {
      method: "POST",
      token: res.body.token,
    });
    expect(((await refreshed.json()) as { token: string }).token).toBe(res.body.token);
  });
});
