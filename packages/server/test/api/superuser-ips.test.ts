import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../cli/cli-helpers.js";
import { setupFiles } from "../harness/fixtures/files.js";
import { SUPERUSER, startServer, superuserToken, type TestServer } from "../harness/server.js";

// The test server is reached from 127.0.0.1; every other address below stands for a remote client.
const dir = mkdtempSync(join(tmpdir(), "basalt-superuser-ips-"));
let server: TestServer;
let token = "";
beforeAll(async () => {
  server = await startServer({}, { dataDir: dir });
  token = await superuserToken(server);
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

const patch = (json: unknown, headers: Record<string, string> = {}) =>
  server.fetch("/api/settings", { method: "PATCH", token, json, headers });
const signIn = (headers: Record<string, string> = {}) =>
  server.fetch("/api/collections/_superusers/auth-with-password", {
    method: "POST",
    json: { identity: SUPERUSER.email, password: SUPERUSER.password },
    headers,
  });

describe("superuserIPs", () => {
  it("is an empty list by default, and refuses bad entries with field errors, saving nothing", async () => {
    const view = (await (await server.fetch("/api/settings", { token })).json()) as {
      superuserIPs: string[];
    };
    expect(view.superuserIPs).toEqual([]);
    const res = await patch({
      superuserIPs: ["10.0.0.0/8", "not-an-ip", "", " 10.1.1.1", "10.0.0.0/33", "::1/129", "fe80::1%eth0", 7],
      meta: { appName: "changed-on-error" },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { data: { superuserIPs: Record<string, { code: string }> } };
    expect(Object.keys(body.data.superuserIPs).sort()).toEqual(["1", "2", "3", "4", "5", "6", "7"]);
    expect(body.data.superuserIPs["1"].code).toBe("validation_invlaid_ip_or_subnet");
    expect(body.data.superuserIPs["2"].code).toBe("validation_required");
    for (const bad of ["10.0.0.1", { a: 1 }, null]) {
      const r = await patch({ superuserIPs: bad });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { data: Record<string, unknown> }).data.superuserIPs).toBeDefined();
    }
    const after = server.basalt.app.settings.get();
    expect(after.superuserIPs).toEqual([]);
    expect(after.meta.appName).not.toBe("changed-on-error");
  });

  it("lets a superuser in from a listed address (IPv4 subnet) and refuses one from elsewhere", async () => {
    const ok = await patch({ superuserIPs: ["203.0.113.7", "2001:db8::/32", "127.0.0.1/8"] });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { superuserIPs: string[] }).superuserIPs).toEqual([
      "203.0.113.7",
      "2001:db8::/32",
      "127.0.0.1/8",
    ]);
    expect((await server.fetch("/api/settings", { token })).status).toBe(200);
    expect((await signIn()).status).toBe(200);

    // the list no longer holds 127.0.0.1: the very next superuser request is refused
    expect((await patch({ superuserIPs: ["203.0.113.7", "2001:db8::/32"] })).status).toBe(200);
    const refused = await server.fetch("/api/settings", { token });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({
      status: 403,
      message: "You are not allowed to perform this request.",
    });
    expect((await server.fetch("/api/collections", { token })).status).toBe(403);
    // nor can a superuser sign in or refresh a token from here
    expect((await signIn()).status).toBe(403);
    const refresh = await server.fetch("/api/collections/_superusers/auth-refresh", {
      method: "POST",
      token,
    });
    expect(refresh.status).toBe(403);
    // a guest and an ordinary user are not concerned
    expect((await server.fetch("/api/health")).status).toBe(200);
    const users = await server.fetch("/api/collections/users/records", {
      method: "POST",
      json: { email: "u@example.com", password: "user-password-1", passwordConfirm: "user-password-1" },
    });
    expect(users.status).toBe(200);
    const userSignIn = await server.fetch("/api/collections/users/auth-with-password", {
      method: "POST",
      json: { identity: "u@example.com", password: "user-password-1" },
    });
    expect(userSignIn.status).toBe(200);
    // a forged X-Forwarded-For does not help while no trusted-proxy header is configured
    expect(
      (await server.fetch("/api/settings", { token, headers: { "x-forwarded-for": "203.0.113.7" } })).status,
    ).toBe(403);
  });

  it("uses the client address after the trusted-proxy settings (IPv4 and IPv6)", async () => {
    await server.basalt.app.settings.update({
      superuserIPs: ["198.51.100.0/24", "2001:db8::/32"],
      trustedProxy: { headers: ["X-Real-IP"], useLeftmostIP: false },
    });
    const as = (ip: string) => server.fetch("/api/settings", { token, headers: { "x-real-ip": ip } });
    expect((await as("198.51.100.9")).status).toBe(200);
    expect((await as("2001:db8::5")).status).toBe(200);
    expect((await as("198.51.101.9")).status).toBe(403);
    expect((await as("2001:db9::5")).status).toBe(403);
    expect((await server.fetch("/api/settings", { token })).status).toBe(403);
    expect((await signIn({ "x-real-ip": "198.51.100.200" })).status).toBe(200);
    expect((await signIn({ "x-real-ip": "192.0.2.1" })).status).toBe(403);
    // the health check shows a superuser the address the list is checked against
    const health = (await (
      await server.fetch("/api/health", { token, headers: { "x-real-ip": "198.51.100.9" } })
    ).json()) as { data: { realIP: string } };
    expect(health.data.realIP).toBe("198.51.100.9");
    await server.basalt.app.settings.update({ trustedProxy: { headers: [], useLeftmostIP: false } });
  });

  it("a superuser's file token used from outside the list reads no protected file", async () => {
    await server.basalt.app.settings.update({ superuserIPs: [] });
    const fx = await setupFiles(server);
    const doc = (await fx.alice.collection("docs").create({
      owner: fx.aliceId,
      secret: new File(["top secret"], "secret.txt"),
    })) as unknown as { id: string; secret: string };
    const fileToken = await fx.admin.files.getToken();
    const url = `/api/files/docs/${doc.id}/${doc.secret}?token=${fileToken}`;
    await server.basalt.app.settings.update({
      superuserIPs: ["198.51.100.0/24"],
      trustedProxy: { headers: ["X-Real-IP"], useLeftmostIP: false },
    });
    expect((await server.fetch(url, { headers: { "x-real-ip": "198.51.100.1" } })).status).toBe(200);
    expect((await server.fetch(url, { headers: { "x-real-ip": "192.0.2.1" } })).status).toBe(404);
    // the owner's own file token is not concerned
    const aliceUrl = `/api/files/docs/${doc.id}/${doc.secret}?token=${await fx.alice.files.getToken()}`;
    expect((await server.fetch(aliceUrl, { headers: { "x-real-ip": "192.0.2.1" } })).status).toBe(200);
    await server.basalt.app.settings.update({ trustedProxy: { headers: [], useLeftmostIP: false } });
  });

  it("a locked-out superuser gets back in with `basalt superuser ips`, as in PocketBase", async () => {
    await server.basalt.app.settings.update({ superuserIPs: ["192.0.2.1"] });
    expect((await signIn()).status).toBe(403);
    const dbUrl = server.basalt.app.config.dbUrl;
    await server.stop();
    const db = dbUrl ? ["--db", dbUrl] : [];
    const bad = runCli(["superuser", "ips", "nonsense", "--dir", dir, ...db], dir);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("superuserIPs.0: invalid IP or CIDR subnet");
    const set = runCli(["superuser", "ips", "192.0.2.1", "127.0.0.1/8", "--dir", dir, ...db], dir);
    expect(set.stderr).toBe("");
    expect(set.code).toBe(0);
    server = await startServer({}, { dataDir: dir });
    token = await superuserToken(server);
    expect(server.basalt.app.settings.get().superuserIPs).toEqual(["192.0.2.1", "127.0.0.1/8"]);
    expect((await server.fetch("/api/settings", { token })).status).toBe(200);
    await server.stop();
    expect(runCli(["superuser", "ips", "--dir", dir, ...db], dir).code).toBe(0);
    server = await startServer({}, { dataDir: dir });
    expect(server.basalt.app.settings.get().superuserIPs).toEqual([]);
    // three CLI processes and two server starts: allow for a busy machine
  }, 90_000);
});
