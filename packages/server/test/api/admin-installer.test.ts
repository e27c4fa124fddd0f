import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isLoopbackRequest } from "../../src/api/installer.js";
import { InstallerService } from "../../src/auth/index.js";
import { SUPERUSER, startServer, type TestServer } from "../harness/server.js";

// The dashboard's first-superuser installer (issue 17): a one-time token printed by `basalt serve`.
let server: TestServer;
beforeAll(async () => {
  server = await startServer();
  await server.basalt.app.auth.deleteSuperuser(SUPERUSER.email);
});
afterAll(() => server.stop());

const post = (json: unknown, headers: Record<string, string> = {}) =>
  server.fetch("/api/basalt/installer", { method: "POST", json, headers });

describe("installer", () => {
  it("tells a first visit that a superuser is needed, and whether the link works here", async () => {
    let res = await server.fetch("/api/basalt/installer");
    expect(await res.json()).toEqual({ needsSuperuser: true, installer: false });
    server.basalt.app.installer.issue();
    res = await server.fetch("/api/basalt/installer");
    expect(await res.json()).toEqual({ needsSuperuser: true, installer: true });
  });

  it("refuses a wrong, missing or odd token without creating anything", async () => {
    server.basalt.app.installer.issue();
    for (const token of ["nope", "", 42, null, ["x"], "x".repeat(5000)]) {
      const res = await post({
        token,
        email: "a@example.com",
        password: "long-enough-1",
        passwordConfirm: "long-enough-1",
      });
      expect(res.status).toBe(403);
    }
    expect(await server.basalt.app.auth.countSuperusers()).toBe(0);
  });

  it("keeps the link after bad input, then creates the superuser once and spends the token", async () => {
    const token = server.basalt.app.installer.issue();
    let res = await post({ token, email: "not-an-email", password: "short", passwordConfirm: "other" });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { data: Record<string, { code: string }> };
    expect(Object.keys(body.data).sort()).toEqual(["email", "password", "passwordConfirm"]);

    const good = {
      token,
      email: "First@Example.com",
      password: "long-enough-1",
      passwordConfirm: "long-enough-1",
    };
    const [a, b] = await Promise.all([post(good), post({ ...good, email: "second@example.com" })]);
    expect([a.status, b.status].sort()).toEqual([204, 403]);
    expect(await server.basalt.app.auth.countSuperusers()).toBe(1);
    res = await post(good);
    expect(res.status).toBe(403);

    const pb = server.sdk();
    const who = a.status === 204 ? "first@example.com" : "second@example.com";
    await pb.collection("_superusers").authWithPassword(who, "long-enough-1");
    expect(pb.authStore.record?.email).toBe(who);
    res = await server.fetch("/api/basalt/installer");
    expect(await res.json()).toEqual({ needsSuperuser: false, installer: false });
  });

  it("counts as local only a loopback peer whose client address is loopback too", () => {
    const req = (remote: string, ip: string) => ({ socket: { remoteAddress: remote }, ip }) as never;
    expect(isLoopbackRequest(req("127.0.0.1", "127.0.0.1"))).toBe(true);
    expect(isLoopbackRequest(req("::1", "::1"))).toBe(true);
    expect(isLoopbackRequest(req("::ffff:127.0.0.1", "::ffff:127.0.0.1"))).toBe(true);
    // a local reverse proxy forwarding a remote client (trusted proxy) is not local
    expect(isLoopbackRequest(req("127.0.0.1", "203.0.113.9"))).toBe(false);
    expect(isLoopbackRequest(req("192.168.1.20", "192.168.1.20"))).toBe(false);
    expect(isLoopbackRequest(req("127.0.0.1.evil", "127.0.0.1"))).toBe(false);
  });

  it("expires after its lifetime", () => {
    const svc = new InstallerService(() => now);
    let now = 1_000;
    const token = svc.issue(60_000);
    expect(svc.check(token)).toBe(true);
    now += 60_001;
    expect(svc.check(token)).toBe(false);
    expect(svc.active).toBe(false);
  });
});
